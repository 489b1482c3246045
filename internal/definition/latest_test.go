package definition

import (
	"testing"

	"github.com/eventwire/eventwire/internal/contract"
)

// TestParse_LatestIsTheUnqualifiedFunction: "orders:$LATEST" and "orders"
// are one function, so they resolve to one reference (the index, the
// managed tag, statement and target ids are keyed by it).
func TestParse_LatestIsTheUnqualifiedFunction(t *testing.T) {
	const queue = "arn:aws:sqs:us-east-1:123456789012:orders"
	for _, tt := range []struct{ name, doc, want string }{
		{"top level", `{"FunctionName": "orders:$LATEST", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "` + queue + `"}}}`, "orders"},
		{"in the mapping", `{"PullEventSources": {"EventSourceMapping": {"FunctionName": "orders:$LATEST", "EventSourceArn": "` + queue + `"}}}`, "orders"},
		{"ARN", `{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST", "PullEventSources": {"EventSourceMapping": {"FunctionName": "orders", "EventSourceArn": "` + queue + `"}}}`, "arn:aws:lambda:us-east-1:123456789012:function:orders"},
		{"an alias stays", `{"FunctionName": "orders:live", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "` + queue + `"}}}`, "orders:live"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f/"+contract.DefinitionFileName, []byte(tt.doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.Function != tt.want {
				t.Errorf("Function = %q, want %q", f.Function, tt.want)
			}
		})
	}
}
