package records

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// DynamoDB's limits on key values, in bytes of UTF-8.
const (
	maxPartitionKeyBytes = 2048
	maxSortKeyBytes      = 1024
)

// boundKey returns id if it fits in a sort key (and so in a partition key
// too), and otherwise id cut short, on a rune boundary, followed by
// "#sha256:" and the hash of the whole id: any bucket, key, repository,
// branch or path that S3 or CodeCommit may send makes a key DynamoDB
// takes, and two long ids stay two keys.
func boundKey(id string) string {
	if len(id) <= maxSortKeyBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	suffix := "#sha256:" + hex.EncodeToString(sum[:])
	cut := maxSortKeyBytes - len(suffix)
	for cut > 0 && !utf8.RuneStart(id[cut]) {
		cut--
	}
	return id[:cut] + suffix
}
