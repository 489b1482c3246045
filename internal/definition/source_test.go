package definition

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/google/go-cmp/cmp"
)

func TestSourceType(t *testing.T) {
	tests := []struct {
		arn  string
		want string
	}{
		{"arn:aws:sqs:us-east-1:123456789012:orders", SourceSQS},
		{"arn:aws:sqs:us-east-1:123456789012:orders.fifo", SourceSQS},
		{"arn:aws-us-gov:sqs:us-gov-west-1:123456789012:orders", SourceSQS},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/clicks", SourceKinesis},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/clicks/consumer/c:1767225600", SourceKinesis},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/inventory/stream/2026-11-01T00:00:00.000", SourceDynamoDB},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/inventory", ""},
		{"arn:aws:kafka:us-east-1:123456789012:cluster/payments/6f1c3b8a-1d2e-4f5a-9b7c-0123456789ab-2", SourceKafka},
		{"arn:aws:kafka:us-east-1:123456789012:vpc-connection/123456789012/payments/6f1c3b8a", SourceKafka},
		{"arn:aws:mq:us-east-1:123456789012:broker:notifications:b-0f1e2d3c", SourceMQ},
		{"arn:aws:rds:us-east-1:123456789012:cluster:catalog", SourceDocumentDB},
		{"arn:aws:rds:us-east-1:123456789012:db:catalog", ""},
		{"arn:aws:s3:::bucket", ""},
		{"orders", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			if got := SourceType(tt.arn); got != tt.want {
				t.Errorf("SourceType(%q) = %q, want %q", tt.arn, got, tt.want)
			}
		})
	}
}

func TestMappingSourceType_SelfManagedKafka(t *testing.T) {
	m := Mapping{SelfManagedEventSource: &SelfManagedEventSource{Endpoints: map[string][]string{"KAFKA_BOOTSTRAP_SERVERS": {"k:9092"}}}}
	if got := MappingSourceType(m); got != SourceSelfManagedKafka {
		t.Errorf("MappingSourceType = %q, want %q", got, SourceSelfManagedKafka)
	}
	if got := MappingSourceType(Mapping{}); got != "" {
		t.Errorf("MappingSourceType(empty) = %q, want empty", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDefaults(t *testing.T) {
	stream := Mapping{Enabled: ptr(true), BatchSize: ptr[int32](100), MaximumBatchingWindowInSeconds: ptr[int32](0),
		ParallelizationFactor: ptr[int32](1), TumblingWindowInSeconds: ptr[int32](0), MaximumRecordAgeInSeconds: ptr[int32](-1),
		MaximumRetryAttempts: ptr[int32](-1), BisectBatchOnFunctionError: ptr(false)}
	kafka := Mapping{Enabled: ptr(true), BatchSize: ptr[int32](100), MaximumRecordAgeInSeconds: ptr[int32](-1),
		MaximumRetryAttempts: ptr[int32](-1), BisectBatchOnFunctionError: ptr(false)}
	tests := []struct {
		typ  string
		want Mapping
	}{
		{SourceSQS, Mapping{Enabled: ptr(true), BatchSize: ptr[int32](10), MaximumBatchingWindowInSeconds: ptr[int32](0)}},
		{SourceKinesis, stream},
		{SourceDynamoDB, stream},
		{SourceKafka, kafka},
		{SourceSelfManagedKafka, kafka},
		{SourceMQ, Mapping{Enabled: ptr(true), BatchSize: ptr[int32](100)}},
		{SourceDocumentDB, Mapping{Enabled: ptr(true), BatchSize: ptr[int32](100)}},
		{"", Mapping{Enabled: ptr(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Defaults(tt.typ)); diff != "" {
				t.Errorf("Defaults(%q) (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

func TestWithDefaults_KeepsSetFields_QueueModeRetries(t *testing.T) {
	m := Mapping{EventSourceArn: ptr("arn:aws:sqs:us-east-1:123456789012:orders"), BatchSize: ptr[int32](5)}
	got := WithDefaults(m)
	want := Mapping{EventSourceArn: m.EventSourceArn, BatchSize: ptr[int32](5), Enabled: ptr(true), MaximumBatchingWindowInSeconds: ptr[int32](0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
	q := Mapping{
		SelfManagedEventSource:            &SelfManagedEventSource{},
		SelfManagedKafkaEventSourceConfig: &KafkaEventSourceConfig{ConsumptionMode: ptr("Queue")},
	}
	if got := WithDefaults(q).MaximumRetryAttempts; got == nil || *got != 0 {
		t.Errorf("Queue mode MaximumRetryAttempts = %v, want 0", got)
	}
}

func TestParseFunctionRef(t *testing.T) {
	tests := []struct {
		ref    string
		want   FunctionRef
		wantOK bool
	}{
		{"orders", FunctionRef{Name: "orders"}, true},
		{"orders:live", FunctionRef{Name: "orders", Qualifier: "live"}, true},
		{"orders:$LATEST", FunctionRef{Name: "orders", Qualifier: "$LATEST"}, true},
		{"orders:7", FunctionRef{Name: "orders", Qualifier: "7"}, true},
		{"123456789012:function:orders", FunctionRef{Account: "123456789012", Name: "orders"}, true},
		{"123456789012:function:orders:live", FunctionRef{Account: "123456789012", Name: "orders", Qualifier: "live"}, true},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders", FunctionRef{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "orders"}, true},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders:live", FunctionRef{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "orders", Qualifier: "live"}, true},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:orders", FunctionRef{Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "orders"}, true},
		{"123456789012:live", FunctionRef{Name: "123456789012", Qualifier: "live"}, true},
		{"us-east-1:orders", FunctionRef{}, false},
		{"orders function", FunctionRef{}, false},
		{"", FunctionRef{}, false},
		{"arn:aws:sqs:us-east-1:123456789012:orders", FunctionRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, ok := ParseFunctionRef(tt.ref)
			if ok != tt.wantOK {
				t.Fatalf("ParseFunctionRef(%q) ok = %v, want %v", tt.ref, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFunctionRef(%q) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestSameFunction(t *testing.T) {
	arn := "arn:aws:lambda:us-east-1:123456789012:function:orders"
	tests := []struct {
		a, b string
		want bool
	}{
		{"orders", "orders", true},
		{"orders", arn, true},
		{"123456789012:function:orders", arn, true},
		{"orders:live", arn + ":live", true},
		{"orders", "orders:live", false},
		{"orders:live", "orders:test", false},
		{"orders", "refunds", false},
		{arn, "arn:aws:lambda:us-east-1:999999999999:function:orders", false},
		{arn, "arn:aws:lambda:eu-west-1:123456789012:function:orders", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, _ := ParseFunctionRef(tt.a)
			b, _ := ParseFunctionRef(tt.b)
			if got := a.Equal(b); got != tt.want {
				t.Errorf("SameFunction = %v, want %v", got, tt.want)
			}
			if got := b.Equal(a); got != tt.want {
				t.Errorf("SameFunction is not symmetric")
			}
		})
	}
}

func TestFunctionRef_String(t *testing.T) {
	for _, ref := range []string{"orders", "orders:live", "123456789012:function:orders", "arn:aws:lambda:us-east-1:123456789012:function:orders:live"} {
		r, ok := ParseFunctionRef(ref)
		if !ok {
			t.Fatalf("ParseFunctionRef(%q) failed", ref)
		}
		if got := r.String(); got != ref {
			t.Errorf("String() = %q, want %q", got, ref)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const minimalFile = `{"PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"}]}`

func TestFind(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", contract.DefinitionFileName), minimalFile)
	writeFile(t, filepath.Join(dir, "b", "c", contract.DefinitionFileName), minimalFile)
	writeFile(t, filepath.Join(dir, "b", "other.json"), "{}")
	writeFile(t, filepath.Join(dir, ".git", contract.DefinitionFileName), minimalFile)
	writeFile(t, filepath.Join(dir, "named.json"), minimalFile)

	got, err := Find(filepath.Join(dir, "b"), dir, filepath.Join(dir, "named.json"), filepath.Join(dir, "a", contract.DefinitionFileName))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "a", contract.DefinitionFileName),
		filepath.Join(dir, "b", "c", contract.DefinitionFileName),
		filepath.Join(dir, "named.json"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
	if _, err := Find(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Find(missing) error = %v, want one wrapping ErrNotExist", err)
	}
}

func TestLoad_SiblingAndSizeLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders", contract.DefinitionFileName)
	writeFile(t, path, minimalFile)
	writeFile(t, filepath.Join(dir, "orders", contract.FunctionDefFileName), `{"FunctionName": "orders", "Code": {"ZipFile": "..."}}`)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Function != "orders" || f.Path != path {
		t.Errorf("Load: Function %q Path %q, want orders and %s", f.Function, f.Path, path)
	}

	big := filepath.Join(dir, "big", contract.DefinitionFileName)
	writeFile(t, big, `{"FunctionName": "orders", "Tags": "`+strings.Repeat("x", MaxFileSize)+`"}`)
	_, err = Load(big)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "over the limit") || errs[0].File != big {
		t.Errorf("Load(big) = %v, want one size error naming the file", err)
	}
	// A sibling _lambdadef.json over the limit is reported with the
	// file's own errors, not instead of them.
	bigSibling := filepath.Join(dir, "big-sibling", contract.DefinitionFileName)
	writeFile(t, bigSibling, `{"PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com"}]}`)
	writeFile(t, filepath.Join(dir, "big-sibling", contract.FunctionDefFileName), `{"FunctionName": "`+strings.Repeat("x", MaxFileSize)+`"}`)
	_, err = Load(bigSibling)
	errs = nil
	if !errors.As(err, &errs) || len(errs) != 2 ||
		!strings.Contains(errs[0].Msg, "over the limit") || errs[0].File != filepath.Join(dir, "big-sibling", contract.FunctionDefFileName) ||
		!strings.Contains(errs[1].Msg, "missing required field \"TargetGroupArn\"") || errs[1].File != bigSibling {
		t.Errorf("Load(big sibling) = %v, want the file's missing TargetGroupArn and the sibling's size", err)
	}
	// Parse refuses the same data without a file.
	if _, err := Parse("big.json", make([]byte, MaxFileSize+1), nil); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("Parse(big) = %v, want a size error", err)
	}
}

func TestConflicts(t *testing.T) {
	files := []*File{
		{Path: "a/" + contract.DefinitionFileName, Function: "orders"},
		{Path: "b/" + contract.DefinitionFileName, Function: "arn:aws:lambda:us-east-1:123456789012:function:orders"},
		{Path: "c/" + contract.DefinitionFileName, Function: "orders:live"},
		{Path: "d/" + contract.DefinitionFileName, Function: "refunds"},
	}
	got := Conflicts(files).Error()
	want := `b/_lambdaeventsourcedef.json: function "arn:aws:lambda:us-east-1:123456789012:function:orders" is already wired by a/_lambdaeventsourcedef.json`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
}

func TestConflicts_PushSourceClaimedByTwoFunctions(t *testing.T) {
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"
	elb := PushSource{Service: ServiceELB, TargetGroupArn: tg}
	route := PushSource{Service: ServiceAPIGateway, ApiId: "a1b2c3d4e5", RouteId: "r0ut3id"}
	files := []*File{
		{Path: "a/" + contract.DefinitionFileName, Function: "orders", Push: []PushSource{elb, route}},
		{Path: "b/" + contract.DefinitionFileName, Function: "refunds", Push: []PushSource{route, elb}},
		// Another alias of the same function may share the route, not the target group of another function.
		{Path: "c/" + contract.DefinitionFileName, Function: "orders:live", Push: []PushSource{{Service: ServiceAPIGateway, ApiId: "a1b2c3d4e5", RouteId: "other"}}},
	}
	got := Conflicts(files).Error()
	want := `b/_lambdaeventsourcedef.json: PushEventSources[0]: route r0ut3id of API a1b2c3d4e5 is already wired to function "orders" by a/_lambdaeventsourcedef.json: it can invoke only one
b/_lambdaeventsourcedef.json: PushEventSources[1]: target group ` + tg + ` is already wired to function "orders" by a/_lambdaeventsourcedef.json: it can invoke only one`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
}

func TestSuggest(t *testing.T) {
	fields := mappingSpec.fieldNames()
	tests := []struct{ in, want string }{
		{"batchsize", "BatchSize"},
		{"BatchSzie", "BatchSize"},
		{"EventSourceARN", "EventSourceArn"},
		{"StartingPositon", "StartingPosition"},
		{"Colour", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Files made by Parse know where they name their function and their push
// sources, so a conflict between files points at the line and column.
func TestConflicts_PositionsFromParse(t *testing.T) {
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"
	parse := func(path, doc string) *File {
		t.Helper()
		f, err := Parse(path, []byte(doc), nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := parse("a/"+contract.DefinitionFileName, `{"FunctionName": "orders",
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "`+tg+`"}]}`)
	b := parse("b/"+contract.DefinitionFileName, `{
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "`+tg+`"}
  ],
  "FunctionName": "refunds"
}`)
	c := parse("c/"+contract.DefinitionFileName, `{"PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "FunctionName": "orders"}}}`)
	got := Conflicts([]*File{a, b, c}).Error()
	want := `b/_lambdaeventsourcedef.json:3:5: PushEventSources[0]: target group ` + tg + ` is already wired to function "orders" by a/_lambdaeventsourcedef.json: it can invoke only one
c/_lambdaeventsourcedef.json:2:77: PullEventSources.EventSourceMapping.FunctionName: function "orders" is already wired by a/_lambdaeventsourcedef.json`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conflicts (-want +got):\n%s", diff)
	}
}

// TestLoad_NotARegularFile: a named pipe (or a link to one) named like a
// definition file, or beside one as _lambdadef.json, is reported, not
// opened: opening a FIFO for reading would wait for a writer forever.
func TestLoad_NotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo", contract.DefinitionFileName)
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link", contract.DefinitionFileName)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	sibling := filepath.Join(dir, "sibling", contract.DefinitionFileName)
	writeFile(t, sibling, minimalFile)
	if err := syscall.Mkfifo(filepath.Join(dir, "sibling", contract.FunctionDefFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, file string }{
		{fifo, fifo},
		{link, link},
		{sibling, filepath.Join(dir, "sibling", contract.FunctionDefFileName)},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(filepath.Dir(tt.path)), func(t *testing.T) {
			_, err := Load(tt.path)
			var errs Errors
			if !errors.As(err, &errs) || len(errs) < 1 || errs[0].File != tt.file ||
				errs[0].Msg != "not a regular file but a named pipe (FIFO): not read" {
				t.Errorf("Load(%s) = %v; want the named pipe %s reported", tt.path, err, tt.file)
			}
		})
	}
	got, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fifo, link, sibling}, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
}

// TestFind_SymlinkedFolder: a folder given as a symbolic link is searched
// (its files named under the link), a link loop is an error, and links
// inside the folders are not followed.
func TestFind_SymlinkedFolder(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	writeFile(t, filepath.Join(real, "orders", contract.DefinitionFileName), minimalFile)
	linked := filepath.Join(dir, "linked")
	if err := os.Symlink(real, linked); err != nil {
		t.Fatal(err)
	}
	// A link inside the tree back to its root: not followed.
	if err := os.Symlink(real, filepath.Join(real, "back")); err != nil {
		t.Fatal(err)
	}
	got, err := Find(linked)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(linked, "orders", contract.DefinitionFileName)}, got); diff != "" {
		t.Errorf("Find(link to a folder) (-want +got):\n%s", diff)
	}

	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.Symlink(b, a); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(a, b); err != nil {
		t.Fatal(err)
	}
	_, err = Find(a)
	if err == nil || !strings.Contains(err.Error(), "a loop of symbolic links") || !strings.Contains(err.Error(), a) {
		t.Errorf("Find(link loop) = %v; want a loop error naming %s", err, a)
	}
}
