package wiring

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// TagKey marks an event source mapping as created (or adopted) by
// eventwire. Its value is the definition's function reference.
const TagKey = "eventwire:managed"

// StatementPrefix starts the id of every permission statement eventwire
// adds to a function's resource policy. Only statements with this prefix
// are ever removed.
const StatementPrefix = "eventwire-"

// StatementID returns the deterministic statement id of a grant: the prefix
// and a hash of what is granted, so re-applying never adds a statement.
// Statement ids are limited to 100 characters of [a-zA-Z0-9-_].
func StatementID(principal, sourceArn, qualifier string) string {
	h := sha256.Sum256([]byte(principal + "\x00" + sourceArn + "\x00" + qualifier))
	return StatementPrefix + hex.EncodeToString(h[:12])
}

// IsStatementID reports whether sid is the id that eventwire gives the
// grant of principal from sourceArn on qualifier.
func IsStatementID(sid, principal, sourceArn, qualifier string) bool {
	return strings.HasPrefix(sid, StatementPrefix) && sid == StatementID(principal, sourceArn, qualifier)
}

// IntegrationPrefix starts the description of every integration eventwire
// creates. The API Gateway adapter refuses to create or delete an
// integration without it.
const IntegrationPrefix = "managed by eventwire"

// The integration eventwire creates: Lambda proxy, payload format 2.0.
const (
	IntegrationType      = "AWS_PROXY"
	PayloadFormatVersion = "2.0"
)

// IntegrationDescription is the description eventwire gives the
// integrations it creates for a function reference, given as its
// qualified ARN: it marks them as eventwire's and names the reference,
// qualifier included, so that the files of two qualifiers of one function
// (orders:live, orders:canary) never take each other's integrations for
// their own.
func IntegrationDescription(qualifiedARN string) string {
	return IntegrationPrefix + " for " + qualifiedARN
}

// IsIntegrationDescription reports whether description marks an
// integration as eventwire's (for any function).
func IsIntegrationDescription(description string) bool {
	return strings.HasPrefix(description, IntegrationPrefix)
}
