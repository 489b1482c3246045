package definition

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFields_KeepValuesWithPositions: a parsed file keeps its string
// values with their JSON paths and positions, so that an error about one
// (AWS refused the queue it names) can point at it.
func TestFields_KeepValuesWithPositions(t *testing.T) {
	data := []byte(`{
  "FunctionName": "orders",
  "PushEventSources": [
    {"Service": "apigateway.amazonaws.com", "ApiId": "a1b2c3d4e5", "RouteId": "r0ut3id"}
  ],
  "PullEventSources": {
    "EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders", "Tags": {"team a": "x"}}
  }
}`)
	f, err := Parse("orders/_lambdaeventsourcedef.json", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Path: "FunctionName", Value: "orders", Line: 2, Column: 19},
		{Path: "PushEventSources[0].Service", Value: "apigateway.amazonaws.com", Line: 4, Column: 17},
		{Path: "PushEventSources[0].ApiId", Value: "a1b2c3d4e5", Line: 4, Column: 54},
		{Path: "PushEventSources[0].RouteId", Value: "r0ut3id", Line: 4, Column: 79},
		{Path: "PullEventSources.EventSourceMapping.EventSourceArn", Value: "arn:aws:sqs:us-east-1:123456789012:orders", Line: 7, Column: 46},
		{Path: `PullEventSources.EventSourceMapping.Tags["team a"]`, Value: "x", Line: 7, Column: 110},
	}
	if diff := cmp.Diff(want, f.Fields()); diff != "" {
		t.Errorf("Fields (-want +got):\n%s", diff)
	}
	if got := f.FunctionField(); got != "FunctionName" {
		t.Errorf("FunctionField = %q, want FunctionName", got)
	}
	tests := []struct{ path, want string }{
		{"PushEventSources[0].RouteId", "orders/_lambdaeventsourcedef.json:4:79: PushEventSources[0].RouteId: gone"},
		{"Nowhere", "orders/_lambdaeventsourcedef.json: Nowhere: gone"},
	}
	for _, tt := range tests {
		if got := f.ErrorAt(tt.path, "gone").Error(); got != tt.want {
			t.Errorf("ErrorAt(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestFunctionDef_KeepsTheSiblingsPosition: a function named only in the
// sibling _lambdadef.json is kept with that file's name and the position
// of its FunctionName, so that "the function does not exist" can point
// there; a file without a sibling has none.
func TestFunctionDef_KeepsTheSiblingsPosition(t *testing.T) {
	doc := []byte(`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}}}`)
	sibling := []byte("{\n  \"Runtime\": \"provided.al2023\",\n    \"FunctionName\": \"orders\"\n}")
	f, err := Parse("orders/_lambdaeventsourcedef.json", doc, sibling)
	if err != nil {
		t.Fatal(err)
	}
	file, fd, ok := f.FunctionDef()
	want := Field{Path: "FunctionName", Value: "orders", Line: 3, Column: 21}
	if !ok || file != "orders/_lambdadef.json" || fd != want {
		t.Errorf("FunctionDef() = %q, %+v, %v; want orders/_lambdadef.json, %+v, true", file, fd, ok, want)
	}
	if f.FunctionField() != "" {
		t.Errorf("FunctionField() = %q, want \"\" (the sibling names it)", f.FunctionField())
	}
	f, err = Parse("orders/_lambdaeventsourcedef.json", []byte(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if file, fd, ok := f.FunctionDef(); ok {
		t.Errorf("FunctionDef() without a sibling = %q, %+v, true; want false", file, fd)
	}
}
