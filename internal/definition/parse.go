package definition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/funcref"
)

// MaxFileSize is the largest definition file accepted (1 MiB).
const MaxFileSize = 1 << 20

// Parse validates a definition file and returns it. path is how errors name
// the file (a relative path or an S3 key). functionDef is the content of the
// sibling _lambdadef.json, or nil when there is none: only its FunctionName
// is read (the rest is only checked to be JSON).
//
// The returned File is complete: Function resolved, Pull always a list. The
// error, when there is one, is of type Errors and holds every problem found.
func Parse(path string, data []byte, functionDef []byte) (*File, error) {
	return parse(document{path: path, data: data, functionDef: functionDef}, nil)
}

// document is a definition file to parse: how errors name it (path), its
// content, its sibling _lambdadef.json's (nil if none), and the errors of
// a sibling that could not be read (siblingErrs).
type document struct {
	path              string
	data, functionDef []byte
	siblingErrs       Errors
}

// parse is Parse, with the errors of a sibling _lambdadef.json that could
// not be read (siblingErrs), reported with the file's own, and the file
// checked against policy when there is one.
func parse(doc document, policy *Policy) (*File, error) {
	path, data, functionDef, siblingErrs := doc.path, doc.data, doc.functionDef, doc.siblingErrs
	errs := &errorList{file: path, errs: slices.Clone(siblingErrs)}
	if len(data) > MaxFileSize {
		errs.add(position{}, "", fmt.Sprintf("file is %d bytes, over the limit of %d (1 MiB)", len(data), MaxFileSize))
		return nil, errs.errs
	}
	data = dropBOM(data, errs)
	pos := newPositions(data)
	root := parseTree(data, pos, errs)
	if root == nil {
		errs.errs.sort()
		return nil, errs.errs
	}
	w := &walker{pos: pos, errs: errs}
	if root.kind != kindObject {
		w.errorf(root.off, "", "must be a JSON object, not %s", root.kind)
		errs.errs.sort()
		return nil, errs.errs
	}
	if off := invalidUTF8(data); off >= 0 {
		// encoding/json would quietly turn the byte into U+FFFD.
		w.errorf(off, "", "file is not valid UTF-8: byte 0x%02x", data[off])
	}
	w.walk(root, fileSpec, "")
	pulls := w.checkFile(root)
	if policy != nil {
		policyCheck{w, policy}.file(root)
	}

	var sibling *siblingFunction
	siblingBroken := len(siblingErrs) > 0
	if functionDef != nil {
		before := len(errs.errs)
		sibling = readSibling(siblingPath(path), functionDef, errs, policy)
		siblingBroken = len(errs.errs) > before
	}
	function, functionOff, functionPath := w.resolveFunction(root, pulls, sibling, siblingBroken)

	if len(errs.errs) > 0 {
		errs.errs.sort()
		return nil, errs.errs
	}
	f, err := decode(path, data)
	if err != nil {
		// Cannot happen once the tree is valid; say so rather than panic.
		errs.add(position{line: 1, col: 1}, "", "decode: "+err.Error())
		return nil, errs.errs
	}
	f.Function = function
	// Where the file names its function and each push source, for the
	// errors about files as a whole (Conflicts).
	if functionOff >= 0 {
		f.functionAt, f.functionPath = w.pos.at(functionOff), functionPath
	}
	f.fields = stringFields(root, "", w.pos, nil)
	if sibling != nil {
		f.functionDef, f.functionDefFile = sibling.field, sibling.file
	}
	if push := root.value("PushEventSources"); push != nil {
		for _, item := range push.items {
			f.pushAt = append(f.pushAt, w.pos.at(item.off))
		}
	}
	return f, nil
}

// stringFields appends the string values under n (at path) to out, with
// their positions, in file order.
func stringFields(n *node, path string, pos *positions, out []Field) []Field {
	switch n.kind {
	case kindString:
		p := pos.at(n.off)
		out = append(out, Field{Path: path, Value: n.str, Line: p.line, Column: p.col})
	case kindObject:
		for _, m := range n.members {
			out = stringFields(m.val, pathKey(path, m.key), pos, out)
		}
	case kindArray:
		for i, it := range n.items {
			out = stringFields(it, pathIndex(path, i), pos, out)
		}
	}
	return out
}

// utf8BOM is the byte order mark some Windows editors put first.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// dropBOM reports a leading byte order mark (JSON text must not have one,
// RFC 8259 section 8.1) and blanks it, so that the rest of the file is
// still checked with the same line:column positions.
func dropBOM(data []byte, errs *errorList) []byte {
	if !bytes.HasPrefix(data, utf8BOM) {
		return data
	}
	errs.add(position{line: 1, col: 1}, "", "file starts with a UTF-8 byte order mark, which JSON does not allow: save it without one")
	return append([]byte("   "), data[len(utf8BOM):]...)
}

// invalidUTF8 returns the offset of the first byte that is not valid
// UTF-8, or -1.
func invalidUTF8(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return -1
}

// checkFile applies the rules across entries and returns the pull entries
// (object nodes with their paths).
func (w *walker) checkFile(root *node) []pullEntry {
	pushNode := root.value("PushEventSources")
	pullNode := root.value("PullEventSources")
	var pulls []pullEntry
	if pullNode != nil && pullNode.kind == kindObject {
		path := "PullEventSources.EventSourceMapping"
		esm := pullNode.value("EventSourceMapping")
		switch {
		case esm == nil:
		case esm.kind == kindObject:
			pulls = append(pulls, pullEntry{esm, path})
		case esm.kind == kindArray:
			if len(esm.items) == 0 {
				w.errorf(esm.off, path, "must have at least 1 mapping")
			}
			for i, it := range esm.items {
				pulls = append(pulls, pullEntry{it, pathIndex(path, i)})
			}
		default:
			w.errorf(esm.off, path, "must be an object or an array of objects, not %s", esm.kind)
		}
	}
	var pushes []pullEntry
	if pushNode != nil && pushNode.kind == kindArray {
		for i, it := range pushNode.items {
			if it.kind == kindObject {
				pushes = append(pushes, pullEntry{it, pathIndex("PushEventSources", i)})
			}
		}
	}
	if (pushNode == nil || pushNode.kind == kindArray && len(pushNode.items) == 0) && pullNode == nil &&
		!root.miscased("PushEventSources") && !root.miscased("PullEventSources") {
		w.errorf(root.off, "", "no event source: add PushEventSources or PullEventSources")
	}

	// Each pull entry against the mapping spec, then its rules.
	var valid []pullEntry
	for _, p := range pulls {
		if !w.walk(p.n, mappingSpec, p.path) {
			continue
		}
		// The per-source rules run even when a field of the entry is
		// wrong: they read only the values that are valid on their own, so
		// every problem shows at once and none twice.
		w.checkMapping(p.n, p.path)
		valid = append(valid, p)
	}
	for _, p := range pushes {
		w.checkPush(p.n, p.path)
	}

	// Identity duplicates: AWS would refuse the second mapping
	// (ResourceConflictException) or wire the same thing twice.
	dup := func(entries []pullEntry, identity func(*node) string, what string) {
		seen := map[string]pullEntry{}
		for _, e := range entries {
			if e.n.kind != kindObject {
				continue
			}
			id := identity(e.n)
			if id == "" {
				continue
			}
			if first, ok := seen[id]; ok {
				w.errorf(e.n.off, e.path, "duplicate %s: same as %s (line %s)", what, first.path, w.pos.at(first.n.off).lineCol())
				continue
			}
			seen[id] = e
		}
	}
	dup(valid, pullIdentity, "event source (same source, topic or queue)")
	dup(pushes, pushIdentity, "push event source")
	return valid
}

type pullEntry struct {
	n    *node
	path string
}

// siblingFunction is the FunctionName of a _lambdadef.json, and where
// that file writes it.
type siblingFunction struct {
	file  string
	name  string
	field Field
}

// siblingPath is the name of the _lambdadef.json beside path, in the same
// style (slash-separated for S3 keys and relative paths).
func siblingPath(path string) string {
	i := strings.LastIndexAny(path, `/\`)
	return path[:i+1] + contract.FunctionDefFileName
}

// readSibling reads FunctionName from a _lambdadef.json, checked against
// policy if there is one. Its errors name the sibling file.
func readSibling(path string, data []byte, into *errorList, policy *Policy) *siblingFunction {
	errs := &errorList{file: path}
	defer func() { into.errs = append(into.errs, errs.errs...) }()
	if len(data) > MaxFileSize {
		errs.add(position{}, "", fmt.Sprintf("file is %d bytes, over the limit of %d (1 MiB)", len(data), MaxFileSize))
		return nil
	}
	data = dropBOM(data, errs)
	pos := newPositions(data)
	root := parseTree(data, pos, errs)
	if root == nil {
		return nil
	}
	w := &walker{pos: pos, errs: errs}
	if root.kind != kindObject {
		w.errorf(root.off, "", "must be a JSON object, not %s", root.kind)
		return nil
	}
	fn := root.get("FunctionName")
	if fn == nil {
		return nil
	}
	if !w.walk(fn.val, functionNameSpec, "FunctionName") || !w.checkFunctionRef(fn.val, "FunctionName") {
		return nil
	}
	if policy != nil {
		policyCheck{w, policy}.function(fn.val, "FunctionName")
	}
	at := pos.at(fn.val.off)
	return &siblingFunction{file: path, name: fn.val.str,
		field: Field{Path: "FunctionName", Value: fn.val.str, Line: at.line, Column: at.col}}
}

// checkFunctionRef checks what the pattern cannot: that the reference
// parses unambiguously and that a bare name is at most 64 characters ("If
// you specify only the function name, it's limited to 64 characters").
func (w *walker) checkFunctionRef(n *node, path string) bool {
	if n.kind != kindString || !n.matches(functionNameSpec) {
		return false
	}
	ref, ok := ParseFunctionRef(n.str)
	if !ok {
		w.errorf(n.off, path, "%s is not a function name, partial ARN or ARN", shortQuote(n.str))
		return false
	}
	if len(ref.Name) > funcref.MaxNameLength {
		w.errorf(n.off, path, "function name %s is %d characters long, over %d", shortQuote(ref.Name), len(ref.Name), funcref.MaxNameLength)
		return false
	}
	return true
}

// resolveFunction picks the target function: the top-level FunctionName,
// else the sibling's, else the pull entries'; all present must agree. It
// also returns where the function is named (offset -1: in the sibling).
func (w *walker) resolveFunction(root *node, pulls []pullEntry, sibling *siblingFunction, siblingBroken bool) (function string, off int, path string) {
	type claim struct {
		ref   FunctionRef
		text  string
		where string // how messages name it
		off   int
		path  string
	}
	var claims []claim
	// A FunctionName in the wrong case is reported as such, not as a
	// missing function too.
	named := root.hasFold("FunctionName") || sibling != nil || siblingBroken
	for _, p := range pulls {
		named = named || p.n.hasFold("FunctionName")
	}
	if n := root.value("FunctionName"); n != nil && w.checkFunctionRef(n, "FunctionName") {
		ref, _ := ParseFunctionRef(n.str)
		claims = append(claims, claim{ref, n.str, fmt.Sprintf("FunctionName (line %s)", w.pos.at(n.off).lineCol()), n.off, "FunctionName"})
	}
	if sibling != nil {
		ref, _ := ParseFunctionRef(sibling.name)
		claims = append(claims, claim{ref, sibling.name, sibling.file, -1, ""})
	}
	for _, p := range pulls {
		n := p.n.value("FunctionName")
		path := pathKey(p.path, "FunctionName")
		if n != nil && w.checkFunctionRef(n, path) {
			ref, _ := ParseFunctionRef(n.str)
			claims = append(claims, claim{ref, n.str, fmt.Sprintf("%s (line %s)", path, w.pos.at(n.off).lineCol()), n.off, path})
		}
	}
	if len(claims) == 0 {
		if !named {
			w.errorf(root.off, "", "no target function: set FunctionName at the top level, in a sibling %s, or in the pull event sources", contract.FunctionDefFileName)
		}
		return "", -1, ""
	}
	first := claims[0]
	for _, c := range claims[1:] {
		if c.ref.Equal(first.ref) {
			continue
		}
		if c.off < 0 {
			// The sibling disagrees with the top level: point there.
			w.errorf(first.off, first.path, "function %q disagrees with %q named by %s", first.text, c.text, c.where)
			continue
		}
		w.errorf(c.off, c.path, "function %q disagrees with %q named by %s", c.text, first.text, first.where)
	}
	return unlatest(first.text, first.ref), first.off, first.path
}

// unlatest drops a $LATEST qualifier from a function reference as written:
// "orders:$LATEST" and "orders" are one function to Lambda, so they must
// be one everywhere eventwire keys a function (the declaration index, the
// managed tag's value, statement ids, target ids); otherwise renaming one
// to the other would leave the old wiring beside the new.
func unlatest(text string, ref FunctionRef) string {
	if ref.Qualifier != funcref.Latest {
		return text
	}
	return strings.TrimSuffix(text, ":"+funcref.Latest)
}

// decode fills a File from a document that passed validation: keys are
// exact by then, so encoding/json's case-insensitive matching and silent
// dropping cannot change anything.
func decode(path string, data []byte) (*File, error) {
	var doc struct {
		PushEventSources []PushSource
		PullEventSources *struct {
			EventSourceMapping json.RawMessage
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	f := &File{Path: path, Push: doc.PushEventSources}
	if doc.PullEventSources != nil {
		raw := doc.PullEventSources.EventSourceMapping
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &f.Pull); err != nil {
				return nil, err
			}
		} else {
			var m Mapping
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
			f.Pull = []Mapping{m}
		}
	}
	return f, nil
}

// Load reads a definition file and the _lambdadef.json beside it, if any,
// and parses them. A file over MaxFileSize is refused before it is read.
func Load(path string) (*File, error) {
	return load(path, nil)
}

// load is Load, with the file checked against policy when there is one.
func load(path string, policy *Policy) (*File, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	sib := filepath.Join(filepath.Dir(path), contract.FunctionDefFileName)
	var functionDef []byte
	var siblingErrs Errors
	switch d, err := readLimited(sib); {
	case err == nil:
		functionDef = d
	case errors.Is(err, fs.ErrNotExist):
	case errors.As(err, &siblingErrs):
		// Too large: reported with the file's own errors.
	default:
		return nil, err
	}
	return parse(document{path: path, data: data, functionDef: functionDef, siblingErrs: siblingErrs}, policy)
}

// readLimited reads a file of at most MaxFileSize bytes; a larger one is an
// Errors naming the file, without reading it whole. So is anything but a
// regular file (a named pipe would block the read forever, a device never
// end): its mode is checked before it is opened, and again once open.
func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if msg := notRegular(st.Mode()); msg != "" {
		return nil, Errors{{File: path, Msg: msg}}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if msg := notRegular(st.Mode()); msg != "" {
		// Replaced between the two looks.
		return nil, Errors{{File: path, Msg: msg}}
	}
	if st.Size() > MaxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("file is %d bytes, over the limit of %d (1 MiB)", st.Size(), MaxFileSize)}}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("file is over the limit of %d bytes (1 MiB)", MaxFileSize)}}
	}
	return data, nil
}

// notRegular says why a file of mode m is not read ("" for a regular file).
func notRegular(m fs.FileMode) string {
	if m.IsRegular() {
		return ""
	}
	kind := "a special file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	}
	return "not a regular file but " + kind + ": not read"
}

// Find returns the definition files under paths: each path is a file
// (taken as is, whatever its name) or a directory searched recursively for
// files named _lambdaeventsourcedef.json. A path given that is a symbolic
// link to a directory is followed (links inside the directories are not);
// the files found keep the path as given. The result is sorted and has no
// duplicates. A path that does not exist, or a link loop, is an error.
func Find(paths ...string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("find definitions in %s: a loop of symbolic links: %w", root, err)
		}
		if err != nil {
			return nil, fmt.Errorf("find definitions in %s: %w", root, err)
		}
		if !st.IsDir() {
			add(root)
			continue
		}
		// WalkDir does not follow a root that is a link: walk where it
		// leads, and name what it finds under root.
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, fmt.Errorf("find definitions in %s: %w", root, err)
		}
		err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if rel, rerr := filepath.Rel(real, p); rerr == nil {
				p = filepath.Join(root, rel)
			}
			if d.IsDir() && p != filepath.Clean(root) && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && d.Name() == contract.DefinitionFileName {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find definitions in %s: %w", root, err)
		}
	}
	sort.Strings(out)
	return out, nil
}
