package schema

// The field reference of docs/definition-file.md is generated from the
// schema's descriptions and constraints: TestFieldReferenceUpToDate fails
// when the page is out of date, and rewrites it with -update:
//
//	go test ./schema -update
//
// The generator is this file (standard library only): it walks the
// schema's properties depth first, in the order of their names, and
// renders one table row per property between the markers below. Rule
// clauses that relate fields to one another (the allOf of a mapping: batch
// sizes per source type, StartingPosition per source, ...) are not rows:
// the page's prose says them.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the field reference in docs/definition-file.md")

const (
	// fieldRefDoc is the page the reference lives in.
	fieldRefDoc = "../docs/definition-file.md"
	// The markers around the generated table; the text between them is
	// replaced, everything else is the page's own.
	fieldRefBegin = "<!-- BEGIN GENERATED: field reference (go test ./schema -update) -->"
	fieldRefEnd   = "<!-- END GENERATED: field reference -->"
	// fieldRefFix is what the failure tells the reader to run.
	fieldRefFix = "go test ./schema -update"
)

// TestFieldReferenceUpToDate holds docs/definition-file.md's field
// reference to the checked-in schema (refresh: go test ./schema -update).
func TestFieldReferenceUpToDate(t *testing.T) {
	page, err := os.ReadFile(fieldRefDoc)
	if err != nil {
		t.Fatal(err)
	}
	table, err := renderFieldReference(JSON)
	if err != nil {
		t.Fatal(err)
	}
	want, err := spliceGenerated(string(page), table)
	if err != nil {
		t.Fatalf("%s: %v", fieldRefDoc, err)
	}
	if *update {
		if want != string(page) {
			if err := os.WriteFile(fieldRefDoc, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if err := checkUpToDate("docs/definition-file.md", string(page), want); err != nil {
		t.Error(err)
	}
}

// checkUpToDate compares a page as it is with the page as generated, line
// by line, and says which lines differ and how to refresh the page.
func checkUpToDate(name, got, want string) error {
	// Lines compare whole (a Comparer), so that a changed line is shown
	// whole rather than as a diff of its bytes.
	wholeLines := cmp.Comparer(func(a, b string) bool { return a == b })
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n"), wholeLines); diff != "" {
		return fmt.Errorf("%s is out of date with the schema: run %s (-generated +on disk):\n%s", name, fieldRefFix, diff)
	}
	return nil
}

// spliceGenerated returns page with the text between the field
// reference's markers replaced by table. Each marker must be on a line of
// its own, once, the begin marker first.
func spliceGenerated(page, table string) (string, error) {
	begin, err := markerLine(page, fieldRefBegin)
	if err != nil {
		return "", err
	}
	end, err := markerLine(page, fieldRefEnd)
	if err != nil {
		return "", err
	}
	if end < begin {
		return "", fmt.Errorf("%q comes before %q", fieldRefEnd, fieldRefBegin)
	}
	start := begin + len(fieldRefBegin) + 1 // after the marker's newline
	return page[:start] + table + page[end:], nil
}

// markerLine is the offset of marker in page, which must hold it once, as
// a whole line.
func markerLine(page, marker string) (int, error) {
	switch n := strings.Count(page, marker); n {
	case 0:
		return 0, fmt.Errorf("no %q line: put the markers where the field reference goes", marker)
	case 1:
	default:
		return 0, fmt.Errorf("%q appears %d times: keep one", marker, n)
	}
	i := strings.Index(page, marker)
	if (i > 0 && page[i-1] != '\n') || !strings.HasPrefix(page[i+len(marker):], "\n") {
		return 0, fmt.Errorf("%q must be a line of its own", marker)
	}
	return i, nil
}

// fieldRow is one row of the reference: a property of the file.
type fieldRow struct {
	// Path is the property's JSON path: names joined by ".", "[]" for the
	// items of a list (PushEventSources[].ApiId).
	Path        string
	Type        string
	Description string
	// Constraints are what the schema says of the value itself: required,
	// a constant, choices, ranges, lengths, patterns, sizes.
	Constraints []string
}

// renderFieldReference renders the schema's properties as a Markdown
// table.
func renderFieldReference(schemaJSON []byte) (string, error) {
	rows, err := fieldRows(schemaJSON)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| field | type | description | constraints |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Path, cell(r.Type), cell(r.Description), strings.Join(r.Constraints, "; "))
	}
	return b.String(), nil
}

// node is a schema object; numbers are json.Number, written as the
// schema writes them.
type node = map[string]any

// fieldRows decodes a schema and lists its properties at every depth.
func fieldRows(schemaJSON []byte) ([]fieldRow, error) {
	dec := json.NewDecoder(bytes.NewReader(schemaJSON))
	dec.UseNumber()
	var root node
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("decode the schema: %w", err)
	}
	w := walker{root: root}
	if err := w.properties("", root); err != nil {
		return nil, err
	}
	return w.rows, nil
}

// walker collects rows, resolving $ref against the root's $defs.
type walker struct {
	root node
	rows []fieldRow
}

// resolve follows n's $ref ("#/$defs/NAME"), if it has one.
func (w *walker) resolve(n node) (node, error) {
	ref, ok := n["$ref"].(string)
	if !ok {
		return n, nil
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only #/$defs/NAME is resolved", ref)
	}
	defs, _ := w.root["$defs"].(node)
	def, ok := defs[name].(node)
	if !ok {
		return nil, fmt.Errorf("$ref %q: no such definition", ref)
	}
	return def, nil
}

// properties adds a row for each property of n (an object schema), and
// their own properties after each. prefix is n's path.
func (w *walker) properties(prefix string, n node) error {
	props, _ := n["properties"].(node)
	required := map[string]bool{}
	for _, r := range list(n["required"]) {
		if s, ok := r.(string); ok {
			required[s] = true
		}
	}
	for _, name := range sortedKeys(props) {
		p, ok := props[name].(node)
		if !ok {
			continue // false: a property a rule forbids
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if err := w.field(path, p, required[name]); err != nil {
			return err
		}
	}
	return nil
}

// field adds the row of the property at path, then its children.
func (w *walker) field(path string, p node, required bool) error {
	n, err := w.resolve(p)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	description, _ := p["description"].(string)
	if description == "" {
		description, _ = n["description"].(string)
	}
	typ, err := w.typeOf(p)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var cons []string
	if required {
		cons = append(cons, "required")
	}
	cons = append(cons, constraints(n)...)
	w.rows = append(w.rows, fieldRow{Path: path, Type: typ, Description: description, Constraints: cons})
	return w.children(path, n)
}

// children adds the rows below a property: the properties of an object,
// of a list's items (path[]), or of the objects a oneOf or anyOf allows.
// Alternatives that are different objects each get a row of their own
// (form i of n) before their properties.
func (w *walker) children(path string, n node) error {
	var objects []node
	var seen []string
	add := func(c node) error {
		c, err := w.resolve(c)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		key, _ := json.Marshal(c)
		if slices.Contains(seen, string(key)) {
			return nil
		}
		seen = append(seen, string(key))
		objects = append(objects, c)
		return nil
	}
	switch {
	case n["properties"] != nil:
		return w.properties(path, n)
	case n["items"] != nil:
		items, err := w.resolve(asNode(n["items"]))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if hasObjects(items) {
			return w.children(path+"[]", items)
		}
		return nil
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		for _, v := range list(n[k]) {
			c, err := w.resolve(asNode(v))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if c["items"] != nil {
				if c, err = w.resolve(asNode(c["items"])); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			if c["properties"] != nil || hasObjects(c) {
				if err := add(c); err != nil {
					return err
				}
			}
		}
	}
	if len(objects) == 1 {
		return w.children(path, objects[0])
	}
	for i, o := range objects {
		description, _ := o["description"].(string)
		typ, err := w.typeOf(o)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cons := append([]string{fmt.Sprintf("form %d of %d", i+1, len(objects))}, constraints(o)...)
		w.rows = append(w.rows, fieldRow{Path: path, Type: typ, Description: description, Constraints: cons})
		if err := w.children(path, o); err != nil {
			return err
		}
	}
	return nil
}

// hasObjects reports whether n, or one of its alternatives, has
// properties of its own.
func hasObjects(n node) bool {
	if n["properties"] != nil {
		return true
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		for _, v := range list(n[k]) {
			if asNode(v)["properties"] != nil {
				return true
			}
		}
	}
	return false
}

// typeOf is the type of a value: its "type", "array of" its items', the
// alternatives of a oneOf or anyOf joined by "or", or a constant's or
// choice's type.
func (w *walker) typeOf(p node) (string, error) {
	n, err := w.resolve(p)
	if err != nil {
		return "", err
	}
	switch t := n["type"].(type) {
	case string:
		if t != "array" {
			return t, nil
		}
		items, ok := n["items"].(node)
		if !ok {
			return "array", nil
		}
		it, err := w.typeOf(items)
		if err != nil {
			return "", err
		}
		return "array of " + it, nil
	case []any:
		var names []string
		for _, v := range t {
			names = append(names, fmt.Sprint(v))
		}
		return strings.Join(names, " or "), nil
	}
	var alts []string
	for _, k := range []string{"oneOf", "anyOf"} {
		for _, v := range list(n[k]) {
			at, err := w.typeOf(asNode(v))
			if err != nil {
				return "", err
			}
			if at != "" && !slices.Contains(alts, at) {
				alts = append(alts, at)
			}
		}
	}
	if len(alts) > 0 {
		return strings.Join(alts, " or "), nil
	}
	if n["properties"] != nil {
		return "object", nil
	}
	if c, ok := n["const"]; ok {
		return jsonType(c), nil
	}
	if e := list(n["enum"]); len(e) > 0 {
		return jsonType(e[0]), nil
	}
	return "", nil
}

// jsonType is the JSON type of a decoded value.
func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// constraints says what n requires of a value, in the order a reader
// checks it: constant or choices, range, length, pattern, items, keys and
// values of a map, alternatives, negation.
func constraints(n node) []string {
	var out []string
	if c, ok := n["const"]; ok {
		out = append(out, "`"+literal(c)+"`")
	}
	if e := list(n["enum"]); len(e) > 0 {
		var vals []string
		for _, v := range e {
			vals = append(vals, "`"+literal(v)+"`")
		}
		out = append(out, "one of "+strings.Join(vals, ", "))
	}
	if r := bounds(n, "minimum", "maximum", ""); r != "" {
		out = append(out, r)
	}
	if r := bounds(n, "minLength", "maxLength", "length "); r != "" {
		out = append(out, r)
	}
	if p, ok := n["pattern"].(string); ok {
		out = append(out, "pattern `"+escapePipes(p)+"`")
	}
	if r := bounds(n, "minItems", "maxItems", ""); r != "" {
		out = append(out, r+plural(r, " item"))
	}
	if r := bounds(n, "minProperties", "maxProperties", ""); r != "" {
		out = append(out, r+plural(r, " key"))
	}
	if items, ok := n["items"].(node); ok && !hasObjects(items) && items["$ref"] == nil {
		if c := constraints(items); len(c) > 0 {
			out = append(out, "each item: "+strings.Join(c, ", "))
		}
	}
	if names, ok := n["propertyNames"].(node); ok {
		if c := constraints(names); len(c) > 0 {
			out = append(out, "keys: "+strings.Join(c, ", "))
		}
	}
	if values, ok := n["additionalProperties"].(node); ok {
		desc := []string{}
		if t, _ := values["type"].(string); t != "" {
			if it, ok := values["items"].(node); t == "array" && ok {
				if itt, _ := it["type"].(string); itt != "" {
					t += " of " + itt
				}
			}
			desc = append(desc, t)
		}
		desc = append(desc, constraints(values)...)
		if len(desc) > 0 {
			out = append(out, "values: "+strings.Join(desc, ", "))
		}
	}
	// Alternatives that only constrain the value (no object of their
	// own): -1, or 60–604800.
	for _, k := range []string{"anyOf", "oneOf"} {
		var alts []string
		for _, v := range list(n[k]) {
			a := asNode(v)
			if a["properties"] != nil || a["$ref"] != nil || a["items"] != nil {
				alts = nil
				break
			}
			if c := constraints(a); len(c) > 0 {
				alts = append(alts, strings.Join(c, ", "))
			}
		}
		if len(alts) > 0 {
			out = append(out, strings.Join(alts, ", or "))
		}
	}
	if not, ok := n["not"].(node); ok {
		if c := constraints(not); len(c) > 0 {
			out = append(out, "not "+strings.Join(c, ", "))
		}
	}
	return out
}

// bounds renders a range: "1–10", "at least 1", "at most 10"; "" without
// either bound, and a lower bound of 0 is no bound for a length or count.
func bounds(n node, minKey, maxKey, label string) string {
	lo, hasLo := n[minKey].(json.Number)
	hi, hasHi := n[maxKey].(json.Number)
	if hasLo && lo == "0" && minKey != "minimum" {
		hasLo = false
	}
	switch {
	case hasLo && hasHi && lo == hi:
		return label + "exactly " + string(lo)
	case hasLo && hasHi:
		return label + string(lo) + "–" + string(hi)
	case hasLo:
		return label + "at least " + string(lo)
	case hasHi:
		return label + "at most " + string(hi)
	}
	return ""
}

// plural is noun, with an s unless the count r ends in a lone 1.
func plural(r, noun string) string {
	if strings.HasSuffix(r, " 1") {
		return noun
	}
	return noun + "s"
}

// literal is a constant as JSON would write it, strings unquoted.
func literal(v any) string {
	if s, ok := v.(string); ok {
		return escapePipes(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return escapePipes(string(b))
}

// cell makes text fit one table cell: paragraphs joined by <br>, a
// description's bulleted lines ("  - ") as bullets, pipes escaped, angle
// brackets as entities (the <br> being the only HTML).
func cell(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	var paras []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		if p == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(p, "- "); ok {
			p = "• " + rest
		}
		paras = append(paras, p)
	}
	return escapePipes(strings.Join(paras, "<br>"))
}

// escapePipes escapes | so that it does not end a table cell (also in a
// code span, as GitHub's tables require).
func escapePipes(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func asNode(v any) node {
	n, _ := v.(node)
	return n
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys(m node) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestFieldRows renders small schemas, one feature each.
func TestFieldRows(t *testing.T) {
	for _, tt := range []struct {
		name   string
		schema string
		want   []fieldRow
	}{
		{
			name:   "scalars: required, range, length, pattern, choices",
			schema: `{"type":"object","required":["B"],"properties":{"B":{"type":"integer","description":"b","minimum":1,"maximum":10000},"A":{"type":"string","description":"a","minLength":1,"maxLength":64,"pattern":"^(x|y)$"},"C":{"type":"string","description":"c","enum":["L","T"]}}}`,
			want: []fieldRow{
				{Path: "A", Type: "string", Description: "a", Constraints: []string{"length 1–64", "pattern `^(x\\|y)$`"}},
				{Path: "B", Type: "integer", Description: "b", Constraints: []string{"required", "1–10000"}},
				{Path: "C", Type: "string", Description: "c", Constraints: []string{"one of `L`, `T`"}},
			},
		},
		{
			name:   "nested objects and lists of objects",
			schema: `{"properties":{"O":{"type":"object","description":"o","properties":{"L":{"type":"array","description":"l","maxItems":10,"items":{"type":"object","properties":{"P":{"type":"string","description":"p"}}}}}}}}`,
			want: []fieldRow{
				{Path: "O", Type: "object", Description: "o"},
				{Path: "O.L", Type: "array of object", Description: "l", Constraints: []string{"at most 10 items"}},
				{Path: "O.L[].P", Type: "string", Description: "p"},
			},
		},
		{
			name:   "one object or a list of them, by $ref",
			schema: `{"$defs":{"M":{"type":"object","description":"m","properties":{"X":{"type":"boolean","description":"x"}}}},"properties":{"E":{"description":"e","oneOf":[{"$ref":"#/$defs/M"},{"type":"array","minItems":1,"items":{"$ref":"#/$defs/M"}}]}}}`,
			want: []fieldRow{
				{Path: "E", Type: "object or array of object", Description: "e"},
				{Path: "E.X", Type: "boolean", Description: "x"},
			},
		},
		{
			name:   "a list of different objects: one row per form",
			schema: `{"properties":{"S":{"type":"array","description":"s","items":{"oneOf":[{"type":"object","description":"first","required":["K"],"properties":{"K":{"const":"one","description":"k1"}}},{"type":"object","description":"second","properties":{"K":{"const":"two","description":"k2"}}}]}}}}`,
			want: []fieldRow{
				{Path: "S", Type: "array of object", Description: "s"},
				{Path: "S[]", Type: "object", Description: "first", Constraints: []string{"form 1 of 2"}},
				{Path: "S[].K", Type: "string", Description: "k1", Constraints: []string{"required", "`one`"}},
				{Path: "S[]", Type: "object", Description: "second", Constraints: []string{"form 2 of 2"}},
				{Path: "S[].K", Type: "string", Description: "k2", Constraints: []string{"`two`"}},
			},
		},
		{
			name:   "alternative ranges, maps, items and negation",
			schema: `{"properties":{"Age":{"type":"integer","description":"age","anyOf":[{"const":-1},{"minimum":60,"maximum":604800}]},"Tags":{"type":"object","description":"tags","maxProperties":50,"minProperties":0,"propertyNames":{"type":"string","minLength":1,"maxLength":128,"not":{"pattern":"^aws:"}},"additionalProperties":{"type":"string","minLength":0,"maxLength":256}},"Types":{"type":"array","description":"types","minItems":0,"maxItems":1,"items":{"type":"string","enum":["R"]}}}}`,
			want: []fieldRow{
				{Path: "Age", Type: "integer", Description: "age", Constraints: []string{"`-1`, or 60–604800"}},
				{Path: "Tags", Type: "object", Description: "tags", Constraints: []string{
					"at most 50 keys", "keys: length 1–128, not pattern `^aws:`", "values: string, length at most 256"}},
				{Path: "Types", Type: "array of string", Description: "types", Constraints: []string{"at most 1 item", "each item: one of `R`"}},
			},
		},
		{
			name:   "a property a rule forbids (false) is no row",
			schema: `{"properties":{"A":{"type":"string","description":"a"},"B":false}}`,
			want:   []fieldRow{{Path: "A", Type: "string", Description: "a"}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fieldRows([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFieldRows_Errors: a schema the generator cannot read fails it
// rather than rendering less.
func TestFieldRows_Errors(t *testing.T) {
	for _, tt := range []struct {
		name, schema, want string
	}{
		{"not JSON", `{`, "decode the schema"},
		{"a $ref outside $defs", `{"properties":{"A":{"$ref":"other.json#/A"}}}`, `A: $ref "other.json#/A": only #/$defs/NAME is resolved`},
		{"a $ref to nothing", `{"properties":{"A":{"$ref":"#/$defs/Nope"}}}`, `A: $ref "#/$defs/Nope": no such definition`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fieldRows([]byte(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCell: descriptions become one table cell each.
func TestCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"one line", "one line"},
		{"wrapped\nline", "wrapped line"},
		{"First.\n\n  - A – a.\n\n  - B – b.\n\nLast.", "First.<br>• A – a.<br>• B – b.<br>Last."},
		{"a | b", `a \| b`},
		{"x < y & z > w", "x &lt; y &amp; z &gt; w"},
	} {
		if got := cell(tt.in); got != tt.want {
			t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSpliceGenerated: the table replaces what is between the markers, and
// nothing else; markers missing, repeated, misplaced or out of order are
// errors.
func TestSpliceGenerated(t *testing.T) {
	b, e := fieldRefBegin, fieldRefEnd
	for _, tt := range []struct {
		name, page, want, err string
	}{
		{name: "replaces the old table", page: "intro\n" + b + "\nold\n" + e + "\nafter\n", want: "intro\n" + b + "\nNEW\n" + e + "\nafter\n"},
		{name: "fills empty markers", page: b + "\n" + e + "\n", want: b + "\nNEW\n" + e + "\n"},
		{name: "no begin marker", page: "old\n" + e + "\n", err: "no \"" + b},
		{name: "no end marker", page: b + "\nold\n", err: "no \"" + e},
		{name: "two begin markers", page: b + "\n" + b + "\n" + e + "\n", err: "appears 2 times"},
		{name: "end before begin", page: e + "\n" + b + "\n", err: "comes before"},
		{name: "marker inside a line", page: "see " + b + "\n" + e + "\n", err: "a line of its own"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spliceGenerated(tt.page, "NEW\n")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckUpToDate_ReportsStaleness renders the reference of the real
// schema into a page, perturbs the schema or the page, and holds the
// comparison to finding exactly the perturbations that matter, with the
// command to run.
func TestCheckUpToDate_ReportsStaleness(t *testing.T) {
	page := "# Page\n\nProse.\n\n" + fieldRefBegin + "\n" + fieldRefEnd + "\n\nMore prose.\n"
	table, err := renderFieldReference(JSON)
	if err != nil {
		t.Fatal(err)
	}
	current, err := spliceGenerated(page, table)
	if err != nil {
		t.Fatal(err)
	}
	const desc = "The maximum number of records in each batch"
	if !bytes.Contains(JSON, []byte(desc)) || !strings.Contains(current, desc) {
		t.Fatalf("the schema or its table lacks %q: choose another description to perturb", desc)
	}
	replaceOnce := func(s, old, new string) string {
		t.Helper()
		if strings.Count(s, old) != 1 {
			t.Fatalf("%q appears %d times", old, strings.Count(s, old))
		}
		return strings.Replace(s, old, new, 1)
	}
	for _, tt := range []struct {
		name   string
		schema []byte // nil: the real one
		page   string // the page on disk
		stale  bool
		want   string // in the diff
	}{
		{name: "up to date", page: current},
		{name: "prose outside the markers edited", page: strings.Replace(current, "More prose.", "Other prose.", 1)},
		{name: "a description changed in the schema", page: current, stale: true,
			schema: []byte(replaceOnce(string(JSON), desc, "The most records in a batch")), want: "The most records in a batch"},
		{name: "a constraint changed in the schema", page: current, stale: true,
			schema: []byte(replaceOnce(string(JSON), `"maximum": 300`, `"maximum": 900`)), want: "0–900"},
		{name: "a row edited by hand", page: replaceOnce(current, "| `PullEventSources.EventSourceMapping.BatchSize` | integer |", "| `PullEventSources.EventSourceMapping.BatchSize` | number |"),
			stale: true, want: "BatchSize` | number"},
		{name: "a row deleted by hand", page: deleteLine(t, current, "| `PullEventSources.EventSourceMapping.Enabled` |"),
			stale: true, want: "PullEventSources.EventSourceMapping.Enabled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			schema := tt.schema
			if schema == nil {
				schema = JSON
			}
			table, err := renderFieldReference(schema)
			if err != nil {
				t.Fatal(err)
			}
			want, err := spliceGenerated(tt.page, table)
			if err != nil {
				t.Fatal(err)
			}
			err = checkUpToDate("docs/definition-file.md", tt.page, want)
			if !tt.stale {
				if err != nil {
					t.Errorf("reported stale:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("not reported stale")
			}
			for _, s := range []string{"docs/definition-file.md is out of date", "run " + fieldRefFix, tt.want} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the report lacks %q:\n%v", s, err)
				}
			}
		})
	}
}

// deleteLine removes the one line of s that starts with prefix.
func deleteLine(t *testing.T, s, prefix string) string {
	t.Helper()
	lines := strings.SplitAfter(s, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
	if i < 0 {
		t.Fatalf("no line starts with %q", prefix)
	}
	return strings.Join(slices.Delete(lines, i, i+1), "")
}

// TestFieldReference_CoversTheSchema: every described property of the
// checked-in schema is a row, under the paths the validator's messages
// use, and a few rows say what the schema says.
func TestFieldReference_CoversTheSchema(t *testing.T) {
	rows, err := fieldRows(JSON)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]fieldRow{}
	for _, r := range rows {
		byPath[r.Path] = append(byPath[r.Path], r)
		if strings.TrimSpace(r.Description) == "" {
			t.Errorf("%s: no description", r.Path)
		}
	}
	if n, want := len(rows), strings.Count(string(JSON), `"description":`)-2; n != want {
		// -2: the file's own description and the mapping definition's,
		// which the property PullEventSources.EventSourceMapping's
		// replaces.
		t.Errorf("%d rows, want one per described property (%d)", n, want)
	}
	for _, tt := range []struct {
		path string
		want fieldRow
	}{
		{"FunctionName", fieldRow{Type: "string"}},
		{"PullEventSources.EventSourceMapping", fieldRow{Type: "object or array of object", Constraints: []string{"required"}}},
		{"PullEventSources.EventSourceMapping.MaximumBatchingWindowInSeconds", fieldRow{Type: "integer", Constraints: []string{"0–300"}}},
		{"PullEventSources.EventSourceMapping.MaximumRecordAgeInSeconds", fieldRow{Type: "integer", Constraints: []string{"`-1`, or 60–604800"}}},
		{"PullEventSources.EventSourceMapping.DestinationConfig.OnFailure.Destination", fieldRow{Type: "string"}},
		{"PullEventSources.EventSourceMapping.SourceAccessConfigurations[].Type", fieldRow{Type: "string"}},
	} {
		got := byPath[tt.path]
		if len(got) != 1 {
			t.Errorf("%s: %d rows, want 1", tt.path, len(got))
			continue
		}
		if got[0].Type != tt.want.Type {
			t.Errorf("%s: type %q, want %q", tt.path, got[0].Type, tt.want.Type)
		}
		for _, c := range tt.want.Constraints {
			if !slices.Contains(got[0].Constraints, c) {
				t.Errorf("%s: constraints %q lack %q", tt.path, got[0].Constraints, c)
			}
		}
	}
	// The two forms of a push source, each with its Service.
	if got := byPath["PushEventSources[].Service"]; len(got) != 2 {
		t.Errorf("PushEventSources[].Service: %d rows, want one per form (2)", len(got))
	}
}
