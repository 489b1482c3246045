package records

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// sequencerWidth is the width sequencers are padded to before they are
// stored, so that DynamoDB's string comparison in a condition expression
// orders them as S3 does. S3's sequencers are 18 hex digits today.
const sequencerWidth = 64

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

// KeyState is what the table knows of one S3 object key: the last event
// applied and the function its file named.
type KeyState struct {
	// Sequencer of the last event applied (normalized), "" if none.
	Sequencer string
	// Function is the function reference the key's file last named.
	Function string
	// VersionID is the object version last applied.
	VersionID string
	// Deleted is true when the last event applied removed the key.
	Deleted bool
	// RecordID is the deployment record of the last event applied.
	RecordID string
}

func sequencerPK(bucket, key string) string { return "s3#" + bucket + "/" + key }

const sequencerSK = "sequencer"

// KeyState reads what the table knows of an S3 object key. A key never
// seen is the zero KeyState.
func (s *Store) KeyState(ctx context.Context, bucket, key string) (KeyState, error) {
	item, err := s.getItem(ctx, sequencerPK(bucket, key), sequencerSK)
	if err != nil {
		return KeyState{}, err
	}
	return KeyState{
		Sequencer: getS(item, "sequencer"),
		Function:  getS(item, "function"),
		VersionID: getS(item, "version_id"),
		Deleted:   getBool(item, "deleted"),
		RecordID:  getS(item, "record_id"),
	}, nil
}

// Stale reports whether an event with sequencer seq is not newer than the
// last one applied to the key (a duplicate or an out-of-order delivery).
func (st KeyState) Stale(seq string) bool {
	return st.Sequencer != "" && CompareSequencers(seq, st.Sequencer) <= 0
}

// AdvanceSequencer stores st as the key's state if st.Sequencer is newer
// than the stored one, with a conditional write. It reports false, without
// an error, when a newer (or the same) event was stored first; st.Function
// is then still stored if the key has no function yet (the newer event was
// of an invalid file, stored while this one was being applied), so that a
// removal of the key tears down what this event wired.
func (s *Store) AdvanceSequencer(ctx context.Context, bucket, objKey string, st KeyState) (bool, error) {
	seq := NormalizeSequencer(st.Sequencer)
	names := map[string]string{"#seq": "sequencer", "#del": "deleted"}
	values := map[string]types.AttributeValue{
		":seq": str(seq),
		":del": &types.AttributeValueMemberBOOL{Value: st.Deleted},
	}
	set := []string{"#seq = :seq", "#del = :del"}
	remove := []string{}
	for _, kv := range [][2]string{{"function", st.Function}, {"version_id", st.VersionID}, {"record_id", st.RecordID}} {
		attr, v := kv[0], kv[1]
		n := "#" + attr
		if v == "" {
			// Keep the last known function when a removal does not name
			// one; clear the others.
			if attr != "function" {
				names[n] = attr
				remove = append(remove, n)
			}
			continue
		}
		names[n] = attr
		values[":"+attr] = str(v)
		set = append(set, n+" = :"+attr)
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(sequencerPK(bucket, objKey), sequencerSK),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_not_exists(#seq) OR #seq < :seq"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		if st.Function != "" && !st.Deleted {
			_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(s.table),
				Key:                       key(sequencerPK(bucket, objKey), sequencerSK),
				UpdateExpression:          aws.String("SET #function = :function"),
				ConditionExpression:       aws.String("attribute_exists(#seq) AND attribute_not_exists(#function)"),
				ExpressionAttributeNames:  map[string]string{"#function": "function", "#seq": "sequencer"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":function": str(st.Function)},
			})
			if err != nil && !isConditionFailed(err) {
				return false, fmt.Errorf("store function of s3://%s/%s in table %s: %w", bucket, objKey, s.table, err)
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store sequencer of s3://%s/%s in table %s: %w", bucket, objKey, s.table, err)
	}
	return true, nil
}
