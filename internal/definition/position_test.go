package definition

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	unknownFieldMsg = regexp.MustCompile(`^unknown field ("(?:[^"\\]|\\.)*")`)
	fieldRuleMsg    = regexp.MustCompile(`^(?:\w+ and )?(\w+) (?:is|are) (?:not supported|not allowed|only allowed|only supported|exclusive)`)
	lastKey         = regexp.MustCompile(`(?:\.(\w+)|\[("(?:[^"\\]|\\.)*")\])$`)
	lastIndex       = regexp.MustCompile(`\[\d+\]$`)
)

// TestErrorPositions_PointAtKeyOrValue checks, over the invalid corpus and
// independently of how the parser tracks offsets, that each error's
// line:column is where the text says it is: an unknown or misplaced field
// at its key, a missing field at the object that lacks it, a wrong value
// at the value (just after its key and colon, or its array separator).
func TestErrorPositions_PointAtKeyOrValue(t *testing.T) {
	checked := 0
	for _, c := range loadCorpus(t, "invalid") {
		_, err := Parse(c.path(), c.data, c.sibling)
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("%s: error is %T, want Errors", c.name, err)
		}
		lines := bytes.SplitAfter(c.data, []byte("\n"))
		for _, e := range errs {
			if e.File != c.path() || e.Line == 0 || strings.HasPrefix(e.Msg, "invalid JSON") || strings.HasPrefix(e.Msg, "unexpected data") {
				continue
			}
			if e.Line > len(lines) || e.Column-1 > len(lines[e.Line-1]) {
				t.Errorf("%s: %v: position outside the file", c.name, e)
				continue
			}
			off := 0
			for _, l := range lines[:e.Line-1] {
				off += len(l)
			}
			off += e.Column - 1
			at, before := c.data[off:], bytes.TrimRight(c.data[:off], " \t\r\n")
			var ok bool
			var want string
			switch m := unknownFieldMsg.FindStringSubmatch(e.Msg); {
			case m != nil:
				want, ok = "the key "+m[1], bytes.HasPrefix(at, []byte(m[1]))
			case fieldRuleMsg.MatchString(e.Msg):
				key := strconv.Quote(fieldRuleMsg.FindStringSubmatch(e.Msg)[1])
				want, ok = "the key "+key, bytes.HasPrefix(at, []byte(key))
			case strings.HasPrefix(e.Msg, "missing required field"):
				want, ok = "an object", len(at) > 0 && at[0] == '{'
			case lastKey.MatchString(e.Path):
				m := lastKey.FindStringSubmatch(e.Path)
				key := m[2]
				if key == "" {
					key = strconv.Quote(m[1])
				}
				// The value after "key":, or the key itself for a map
				// key that is refused.
				want = "the value of " + key
				ok = bytes.HasSuffix(before, []byte(key+":")) || bytes.HasSuffix(bytes.TrimRight(before, " \t\r\n:"), []byte(key)) ||
					bytes.HasPrefix(at, []byte(key))
			case lastIndex.MatchString(e.Path):
				want = "an array item"
				ok = bytes.HasSuffix(before, []byte("[")) || bytes.HasSuffix(before, []byte(","))
			default:
				continue
			}
			checked++
			if !ok {
				t.Errorf("%s: %v: position is not at %s; the text there is %q", c.name, e, want, shorten(at))
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d positions; the corpus or the patterns shrank", checked)
	}
}

func shorten(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
