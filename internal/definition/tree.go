package definition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// kind is the JSON type of a node.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

func (k kind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindObject:
		return "an object"
	case kindArray:
		return "an array"
	}
	return "null"
}

// node is one JSON value with the byte offset where it starts, so that
// every error can name a line and column.
type node struct {
	kind    kind
	off     int
	str     string
	num     json.Number
	b       bool
	members []member // object members, in file order
	items   []*node  // array items
}

// member is one key of an object.
type member struct {
	key string
	off int // offset of the key's opening quote
	val *node
}

// get returns the member named key (exact, case-sensitive), or nil.
func (n *node) get(key string) *member {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i := range n.members {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

// value returns the value of member key, or nil.
func (n *node) value(key string) *node {
	if m := n.get(key); m != nil {
		return m.val
	}
	return nil
}

// stringOf returns the string value of member key, if it is a string.
func (n *node) stringOf(key string) (string, bool) {
	v := n.value(key)
	if v == nil || v.kind != kindString {
		return "", false
	}
	return v.str, true
}

// stringValue returns the node's string, if it is one (nil: false).
func (n *node) stringValue() (string, bool) {
	if n == nil || n.kind != kindString {
		return "", false
	}
	return n.str, true
}

// intValue returns the node's integer, if it is one (nil: false).
func (n *node) intValue() (int64, bool) {
	if n == nil || n.kind != kindNumber {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n.num), 10, 64)
	return i, err == nil
}

// has tells whether member key is present (whatever its value).
func (n *node) has(key string) bool { return n.get(key) != nil }

// hasFold tells whether member key is present in any case. A required
// key written in the wrong case is reported once, as an unknown field
// with its suggestion, not as missing too.
func (n *node) hasFold(key string) bool { return n.has(key) || n.miscased(key) }

// miscased tells whether key is present in another case only.
func (n *node) miscased(key string) bool {
	if n == nil || n.kind != kindObject {
		return false
	}
	for _, m := range n.members {
		if m.key != key && strings.EqualFold(m.key, key) {
			return true
		}
	}
	return false
}

// maxDepth bounds nesting: the format needs about 8 levels.
const maxDepth = 64

// parseTree reads data as exactly one JSON value, keeping positions. It
// reports syntax errors, duplicate keys, excessive nesting and trailing data.
func parseTree(data []byte, pos *positions, errs *errorList) *node {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	b := &treeBuilder{data: data, dec: dec, pos: pos, errs: errs}
	root, err := b.value(0)
	if err != nil {
		b.syntax(err)
		return nil
	}
	// Anything but the end of input after the value is an error.
	start := b.skip()
	if _, err := dec.Token(); err != io.EOF {
		if err != nil && !isSyntax(err) {
			errs.add(pos.at(start), "", "unexpected data after the top-level value")
			return root
		}
		if err != nil {
			b.syntax(err)
			return root
		}
		errs.add(pos.at(start), "", "unexpected data after the top-level value")
	}
	return root
}

type treeBuilder struct {
	data []byte
	dec  *json.Decoder
	pos  *positions
	errs *errorList
}

// skip returns the offset of the next token: the decoder's offset past the
// whitespace and separators it has not consumed yet.
func (b *treeBuilder) skip() int {
	i := int(b.dec.InputOffset())
	for i < len(b.data) {
		switch b.data[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		}
		break
	}
	return i
}

func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

// syntax records a syntax error at its position. Decoder.Token's offsets
// are relative to the value being read for errors inside a literal, so the
// position comes from a whole-input scan (json.Unmarshal's offset counts
// bytes up to and including the offending one).
func (b *treeBuilder) syntax(err error) {
	if errors.Is(err, errTooDeep) {
		return // already reported
	}
	var v any
	var se *json.SyntaxError
	if uerr := json.Unmarshal(b.data, &v); errors.As(uerr, &se) {
		off := int(se.Offset) - 1
		msg := se.Error()
		if strings.HasPrefix(msg, "unexpected end of JSON input") {
			off, msg = len(b.data), "unexpected end of file"
		}
		if comma, ok := trailingComma(b.data, off); ok {
			off, msg = comma, fmt.Sprintf("trailing comma before %q: JSON allows none, remove it", b.data[se.Offset-1])
		}
		b.errs.add(b.pos.at(max(off, 0)), "", "invalid JSON: "+msg)
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		b.errs.add(b.pos.at(len(b.data)), "", "invalid JSON: unexpected end of file")
		return
	}
	b.errs.add(b.pos.at(b.skip()), "", "invalid JSON: "+err.Error())
}

// trailingComma tells whether the byte at off closes an object or array
// right after a comma (whitespace between), and where that comma is.
func trailingComma(data []byte, off int) (int, bool) {
	if off < 0 || off >= len(data) || data[off] != '}' && data[off] != ']' {
		return 0, false
	}
	i := len(bytes.TrimRight(data[:off], " \t\r\n")) - 1
	return i, i >= 0 && data[i] == ','
}

var errTooDeep = errors.New("nesting too deep")

func (b *treeBuilder) value(depth int) (*node, error) {
	off := b.skip()
	tok, err := b.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b.fromToken(tok, off, depth)
}

func (b *treeBuilder) fromToken(tok json.Token, off, depth int) (*node, error) {
	n := &node{off: off}
	switch t := tok.(type) {
	case nil:
		n.kind = kindNull
	case bool:
		n.kind, n.b = kindBool, t
	case json.Number:
		n.kind, n.num = kindNumber, t
	case string:
		n.kind, n.str = kindString, t
	case json.Delim:
		if depth >= maxDepth {
			b.errs.add(b.pos.at(off), "", fmt.Sprintf("nesting deeper than %d levels", maxDepth))
			return nil, errTooDeep
		}
		switch t {
		case '{':
			n.kind = kindObject
			first := map[string]int{}
			for b.dec.More() {
				koff := b.skip()
				ktok, err := b.dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				val, err := b.value(depth + 1)
				if err != nil {
					return nil, err
				}
				if prev, dup := first[key]; dup {
					b.errs.add(b.pos.at(koff), "", fmt.Sprintf("duplicate key %q (first at line %s)", key, b.pos.at(prev).lineCol()))
					continue
				}
				first[key] = koff
				n.members = append(n.members, member{key: key, off: koff, val: val})
			}
		case '[':
			n.kind = kindArray
			for b.dec.More() {
				item, err := b.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
		default:
			return nil, fmt.Errorf("unexpected %q", t)
		}
		// The closing delimiter.
		if _, err := b.dec.Token(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// positions converts byte offsets to 1-based line and column (columns count
// bytes, like the Go toolchain's).
type positions struct {
	lineStarts []int
}

func newPositions(data []byte) *positions {
	p := &positions{lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	return p
}

type position struct{ line, col int }

func (p position) lineCol() string { return fmt.Sprintf("%d:%d", p.line, p.col) }

func (p *positions) at(off int) position {
	i := sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return position{line: i + 1, col: off - p.lineStarts[i] + 1}
}

// path helpers: JSON paths like PullEventSources.EventSourceMapping[0].Tags["a b"].

func pathKey(parent, key string) string {
	if isIdent(key) {
		if parent == "" {
			return key
		}
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func pathKeys(parent string, keys ...string) string {
	for _, k := range keys {
		parent = pathKey(parent, k)
	}
	return parent
}

func pathIndex(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// errorList collects errors of one file.
type errorList struct {
	file string
	errs Errors
}

func (l *errorList) add(p position, path, msg string) {
	l.errs = append(l.errs, &Error{File: l.file, Line: p.line, Column: p.col, Path: path, Msg: msg})
}

// Error is one problem in a definition file.
type Error struct {
	// File is the file's name as given to Parse.
	File string
	// Line and Column are 1-based; Column counts bytes.
	Line, Column int
	// Path is the JSON path of the value, e.g.
	// PullEventSources.EventSourceMapping[0].BatchSize; empty for the
	// document itself.
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&sb, ":%d:%d", e.Line, e.Column)
	}
	sb.WriteString(": ")
	if e.Path != "" {
		sb.WriteString(e.Path)
		sb.WriteString(": ")
	}
	sb.WriteString(e.Msg)
	return sb.String()
}

// Errors are all the problems of a file (or of several files), sorted by
// file and position. Its Error() has one error a line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
}
