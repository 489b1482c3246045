package records

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eventwire/eventwire/internal/definition"
)

// Applied is what a teardown needs of the file last applied for a
// function, kept with its active declaration (attribute "applied", JSON):
// a file deleted with all its versions, or one that no longer validates,
// is then still torn down with its push sources (an ELB target's
// registration, an API Gateway integration), which only the file names.
type Applied struct {
	// Ref is the function reference the file wrote (an ARN, a name, with
	// its qualifier), which the teardown targets.
	Ref string `json:"ref"`
	// Push are the file's push sources.
	Push []definition.PushSource `json:"push,omitempty"`
}

// attrApplied holds an active declaration's Applied.
const attrApplied = "applied"

// putApplied sets a's attribute on an active item (none if a is nil).
func putApplied(item map[string]types.AttributeValue, a *Applied) error {
	if a == nil {
		return nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	item[attrApplied] = str(string(b))
	return nil
}

// appliedOf reads an active item's Applied: nil if it has none, or one
// that does not decode (read the file again instead).
func appliedOf(item map[string]types.AttributeValue) *Applied {
	v := getS(item, attrApplied)
	if v == "" {
		return nil
	}
	var a Applied
	if json.Unmarshal([]byte(v), &a) != nil || a.Ref == "" {
		return nil
	}
	return &a
}
