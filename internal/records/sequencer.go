package records

import (
	"fmt"
	"strings"
)

// sequencerWidth is the width sequencers are padded to before they are
// stored, so that DynamoDB's string comparison orders them as S3 does, and
// the longest sequencer accepted. S3's sequencers are 16 to 18 hex digits
// today.
const sequencerWidth = 64

// CheckSequencer says why an S3 event sequencer is malformed: empty, longer
// than 64 characters, or not hexadecimal. A forged or garbled sequencer
// must not reach the table, where it would order every later event of the
// key as older.
func CheckSequencer(seq string) error {
	switch {
	case seq == "":
		return fmt.Errorf("sequencer: empty")
	case len(seq) > sequencerWidth:
		return fmt.Errorf("sequencer %.20q...: %d characters, want at most %d", seq, len(seq), sequencerWidth)
	}
	for _, r := range seq {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return fmt.Errorf("sequencer %q: %q is not a hexadecimal digit", seq, r)
		}
	}
	return nil
}

// NormalizeSequencer returns an S3 event sequencer in its comparable form:
// upper case, right-padded with zeros. S3 documents that sequencers of one
// key compare by padding the shorter one on the right with zeros and then
// comparing them as strings; the greater one is the later event.
func NormalizeSequencer(seq string) string {
	seq = strings.ToUpper(seq)
	if len(seq) < sequencerWidth {
		seq += strings.Repeat("0", sequencerWidth-len(seq))
	}
	return seq
}

// CompareSequencers compares two S3 event sequencers of one object key:
// -1 if a is older than b, 0 if they are the same event, +1 if a is newer.
func CompareSequencers(a, b string) int {
	a, b = strings.ToUpper(a), strings.ToUpper(b)
	if n := max(len(a), len(b)); len(a) < n {
		a += strings.Repeat("0", n-len(a))
	} else if len(b) < n {
		b += strings.Repeat("0", n-len(b))
	}
	return strings.Compare(a, b)
}
