package lazyre

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRegexp(t *testing.T) {
	r := New(`^a(b+)$`)
	if !r.MatchString("abb") || r.MatchString("ac") {
		t.Errorf("MatchString: abb and ac wrong")
	}
	if diff := cmp.Diff([]string{"abb", "bb"}, r.FindStringSubmatch("abb")); diff != "" {
		t.Errorf("FindStringSubmatch (-want +got):\n%s", diff)
	}
	if r.String() != `^a(b+)$` {
		t.Errorf("String() = %q", r.String())
	}
}

func TestInvalidPanicsOnFirstUse(t *testing.T) {
	r := New(`(`) // no panic here
	defer func() {
		if recover() == nil {
			t.Errorf("an invalid pattern did not panic on first use")
		}
	}()
	r.MatchString("x")
}
