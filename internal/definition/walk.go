package definition

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// walker checks a node tree against specs and collects every error.
type walker struct {
	pos  *positions
	errs *errorList
}

func (w *walker) errorf(off int, path, format string, args ...any) {
	w.errs.add(w.pos.at(off), path, fmt.Sprintf(format, args...))
}

// walk checks n against s. It returns false if n has the wrong type (the
// caller then skips rules that read it).
func (w *walker) walk(n *node, s *spec, path string) bool {
	if s == nil {
		return true
	}
	if n.kind != s.kind {
		want := s.kind.String()
		if s.integer {
			want = "an integer"
		}
		w.errorf(n.off, path, "must be %s, not %s", want, n.kind)
		return false
	}
	switch s.kind {
	case kindObject:
		if s.key != nil {
			w.walkMap(n, s, path)
		} else {
			w.walkObject(n, s, path)
		}
	case kindArray:
		w.count(n, s, path)
		for i, item := range n.items {
			w.walk(item, s.elem, pathIndex(path, i))
		}
	case kindNumber:
		w.walkNumber(n, s, path)
	case kindString:
		w.walkString(n.str, n.off, s, path)
	}
	return true
}

func (w *walker) walkObject(n *node, s *spec, path string) {
	for _, m := range n.members {
		fs := s.field(m.key)
		if fs == nil && !hasField(s, m.key) {
			msg := fmt.Sprintf("unknown field %q", m.key)
			if sug := suggest(m.key, s.fieldNames()); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			} else if where := fieldHomes()[m.key]; len(where) > 0 && len(where) <= 3 {
				msg += fmt.Sprintf(" (it belongs in %s)", strings.Join(where, " or "))
			}
			w.errorf(m.off, path, "%s", msg)
			continue
		}
		w.walk(m.val, fs, pathKey(path, m.key))
	}
	for _, r := range s.required {
		if !n.hasFold(r) {
			w.errorf(n.off, path, "missing required field %q", r)
		}
	}
}

// fieldHomes maps each field name of the format to the objects that take
// it, as JSON paths ([] for any item of an array), so that a field written
// at the wrong level can be sent where it belongs.
var fieldHomes = sync.OnceValue(func() map[string][]string {
	homes := map[string][]string{}
	var visit func(s *spec, path string)
	visit = func(s *spec, path string) {
		if s == nil {
			return
		}
		switch {
		case s.kind == kindArray:
			visit(s.elem, path+"[]")
		case s.kind == kindObject && s.key != nil:
			visit(s.elem, path+"[KEY]")
		case s.kind == kindObject:
			for _, f := range s.fields {
				where := path
				if where == "" {
					where = "the top level"
				}
				homes[f.name] = append(homes[f.name], where)
				fs := f.spec
				if s == pullSpec && f.name == "EventSourceMapping" {
					fs = mappingSpec
				}
				visit(fs, pathKey(path, f.name))
			}
		}
	}
	visit(fileSpec, "")
	return homes
})

func hasField(s *spec, name string) bool {
	for _, f := range s.fields {
		if f.name == name {
			return true
		}
	}
	return false
}

func (w *walker) walkMap(n *node, s *spec, path string) {
	w.count(n, s, path)
	for _, m := range n.members {
		w.walkString(m.key, m.off, s.key, pathKey(path, m.key))
		w.walk(m.val, s.elem, pathKey(path, m.key))
	}
}

// count checks the number of an array's items, or of an object's
// entries, against s.
func (w *walker) count(n *node, s *spec, path string) {
	got, what := len(n.items), "item"
	if n.kind == kindObject {
		got, what = len(n.members), "entry"
	}
	switch {
	case s.minItems >= 0 && got < s.minItems && s.minItems == s.maxItems:
		w.errorf(n.off, path, "must have exactly %s, not %d", plural(s.minItems, what), got)
	case s.maxItems >= 0 && got > s.maxItems && s.minItems == s.maxItems:
		w.errorf(n.off, path, "must have exactly %s, not %d", plural(s.maxItems, what), got)
	case s.minItems >= 0 && got < s.minItems:
		w.errorf(n.off, path, "must have at least %s", plural(s.minItems, what))
	case s.maxItems >= 0 && got > s.maxItems:
		w.errorf(n.off, path, "must have at most %s, not %d", plural(s.maxItems, what), got)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if what == "entry" {
		return strconv.Itoa(n) + " entries"
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func (w *walker) walkNumber(n *node, s *spec, path string) {
	if !s.integer {
		if _, err := strconv.ParseFloat(string(n.num), 64); err != nil {
			w.errorf(n.off, path, "number %s is out of range", n.num)
		}
		return
	}
	i, err := strconv.ParseInt(string(n.num), 10, 64)
	if err != nil {
		if strings.ContainsAny(string(n.num), ".eE") {
			w.errorf(n.off, path, "must be an integer, not %s", n.num)
		} else {
			w.errorf(n.off, path, "%s is out of range", n.num)
		}
		return
	}
	if s.also != nil && i == *s.also {
		return
	}
	if (s.min != nil && i < *s.min) || (s.max != nil && i > *s.max) {
		if s.also != nil {
			w.errorf(n.off, path, "must be %d or between %d and %d, not %d", *s.also, *s.min, *s.max, i)
			return
		}
		w.errorf(n.off, path, "must be between %d and %d, not %d", *s.min, *s.max, i)
	}
}

func (w *walker) walkString(v string, off int, s *spec, path string) {
	if len(s.enum) > 0 {
		for _, e := range s.enum {
			if v == e {
				return
			}
		}
		msg := fmt.Sprintf("%q is not one of %s", v, quoteList(s.enum))
		if sug := suggest(v, s.enum); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		w.errorf(off, path, "%s", msg)
		return
	}
	n := utf8.RuneCountInString(v)
	switch {
	case s.minLen >= 0 && n < s.minLen && s.minLen == 1:
		w.errorf(off, path, "must not be empty")
		return
	case s.minLen >= 0 && n < s.minLen:
		w.errorf(off, path, "must be at least %d characters long, not %d", s.minLen, n)
		return
	case s.maxLen >= 0 && n > s.maxLen:
		w.errorf(off, path, "must be at most %d characters long, not %d", s.maxLen, n)
		return
	}
	if s.re != nil && !s.re.MatchString(v) {
		w.errorf(off, path, "%s is not %s (pattern %s)", shortQuote(v), s.desc, s.apiPattern)
		return
	}
	if s.notPrefix != "" && strings.HasPrefix(v, s.notPrefix) {
		w.errorf(off, path, "%s must not start with %q", shortQuote(v), s.notPrefix)
	}
}

// shortQuote quotes v, shortened to keep messages on one readable line.
func shortQuote(v string) string {
	if utf8.RuneCountInString(v) > 80 {
		r := []rune(v)
		return strconv.Quote(string(r[:77])) + "..."
	}
	return strconv.Quote(v)
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// suggest returns the candidate closest to s: an exact match ignoring case
// first, then the closest by edit distance if it is close enough to be a
// typo (at most a third of the name, at least 1, at most 3 edits).
func suggest(s string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := EditDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(3, len(s)/3))
	if bestD >= 0 && bestD <= limit {
		return best
	}
	return ""
}

// EditDistance is the Damerau-Levenshtein distance (optimal string
// alignment): a swap of two adjacent letters, as in "Alais", counts one.
// It is eventwire's one edit distance: the CLI's command suggestions use
// it too.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 200 || len(rb) > 200 {
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
