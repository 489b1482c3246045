package definition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/contract"
)

// FuzzParse checks that Parse never panics and never accepts a document
// that the strict rules refuse, judged by checks independent of the
// parser: the document is one JSON value with no duplicate keys, every key
// is exactly (case included) a JSON name of the types in types.go, it
// decodes with DisallowUnknownFields, and the JSON Schema accepts it.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	s := compiledSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz/"+contract.DefinitionFileName, data, nil)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error is %T, want Errors", err)
			}
			for _, e := range err.(Errors) {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %+v", e)
				}
			}
			// The other direction of the schema's agreement: what the
			// schema accepts, Parse refuses only for what a schema
			// cannot say. With a duplicate key the two see different
			// documents (Parse the first value, the schema the last),
			// and the duplicate is refused anyway.
			if ok, _ := schemaAccepts(s, data); ok && noDuplicateKeys(data) == nil {
				for _, e := range err.(Errors) {
					if !schemaCannotSay(e.Msg) {
						t.Fatalf("the JSON Schema accepts it, but Parse refuses it: %v", e)
					}
				}
			}
			return
		}
		if file.Function == "" || len(file.Push)+len(file.Pull) == 0 {
			t.Fatalf("accepted a file without function or sources: %+v", file)
		}
		if err := noDuplicateKeys(data); err != nil {
			t.Fatalf("accepted: %v", err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("accepted invalid JSON: %v", err)
		}
		if err := exactKeys(doc, reflect.TypeOf(fileDoc{}), ""); err != nil {
			t.Fatalf("accepted: %v", err)
		}
		if err := strictDecode(data); err != nil {
			t.Fatalf("accepted, but a DisallowUnknownFields decoder refuses it: %v", err)
		}
		if ok, serr := schemaAccepts(s, data); !ok {
			t.Fatalf("accepted, but the JSON Schema refuses it: %v", serr)
		}
		if err := sourceRulesOracle(data); err != nil {
			t.Fatalf("accepted, but %v", err)
		}
	})
}

// sourceRulesOracle restates the per-source rules the issue names (from
// the API reference, apart from rules.go's table and from the schema that
// is generated from it) on the plainly decoded document: BatchSize and
// batching window ranges, StartingPosition required for streams and Kafka
// and refused for SQS and MQ, AT_TIMESTAMP only with a timestamp and not
// for DynamoDB, the source type read from the ARN's service.
func sourceRulesOracle(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	pull, _ := doc["PullEventSources"].(map[string]any)
	if pull == nil {
		return nil
	}
	items, isList := pull["EventSourceMapping"].([]any)
	if !isList {
		items = []any{pull["EventSourceMapping"]}
	}
	integer := func(v any) (int64, bool) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, false
		}
		i, err := n.Int64()
		return i, err == nil
	}
	for i, it := range items {
		m, _ := it.(map[string]any)
		arn, _ := m["EventSourceArn"].(string)
		service := ""
		if parts := strings.Split(arn, ":"); len(parts) > 2 {
			service = parts[2]
		}
		_, hasSP := m["StartingPosition"]
		sp, _ := m["StartingPosition"].(string)
		_, hasTS := m["StartingPositionTimestamp"]
		batch, hasBatch := integer(m["BatchSize"])
		win, hasWin := integer(m["MaximumBatchingWindowInSeconds"])
		smk, _ := m["SelfManagedKafkaEventSourceConfig"].(map[string]any)
		queueMode := smk != nil && smk["ConsumptionMode"] == "Queue"
		fail := func(format string, args ...any) error {
			return fmt.Errorf("mapping %d: "+format, append([]any{i}, args...)...)
		}
		if hasBatch && (batch < 1 || batch > 10000) {
			return fail("BatchSize %d is outside 1-10000", batch)
		}
		if hasWin && (win < 0 || win > 300) {
			return fail("MaximumBatchingWindowInSeconds %d is outside 0-300", win)
		}
		_, selfManaged := m["SelfManagedEventSource"]
		switch {
		case selfManaged:
			if arn != "" {
				return fail("self-managed Kafka with an EventSourceArn")
			}
			if !hasSP && !queueMode {
				return fail("self-managed Kafka without StartingPosition")
			}
		case service == "sqs":
			if hasSP || hasTS {
				return fail("SQS with a StartingPosition")
			}
			if hasBatch && batch > 10 && (!hasWin || win < 1) {
				return fail("SQS BatchSize %d without a batching window of at least 1", batch)
			}
			if hasBatch && batch > 10 && strings.HasSuffix(arn, ".fifo") {
				return fail("SQS FIFO BatchSize %d over 10", batch)
			}
		case service == "kinesis", service == "kafka":
			if !hasSP {
				return fail("%s without StartingPosition", service)
			}
		case service == "dynamodb":
			if !hasSP || sp == "AT_TIMESTAMP" {
				return fail("DynamoDB stream without StartingPosition, or at AT_TIMESTAMP")
			}
		case service == "mq":
			if hasSP {
				return fail("MQ with a StartingPosition")
			}
		case service == "rds":
		default:
			return fail("source %q is not one Lambda polls", arn)
		}
		if sp == "AT_TIMESTAMP" && !hasTS && !queueMode {
			return fail("AT_TIMESTAMP without StartingPositionTimestamp")
		}
		if hasTS && sp != "AT_TIMESTAMP" {
			return fail("StartingPositionTimestamp without AT_TIMESTAMP")
		}
	}
	return nil
}

// schemaMissMessages are Parse's messages for the rules a JSON Schema
// cannot express (the categories of testdata/schema_misses.txt and the
// Schema's documentation).
var schemaMissMessages = regexp.MustCompile(`^(duplicate key |duplicate event source |duplicate push event source|no target function|function ".*" disagrees with |function name .* over 64|is not valid JSON|must be a JSON object$|must not exceed MaximumPollers|must be an integer, not [-0-9.eE+]+$|file is not valid UTF-8|.* is not a function name, partial ARN or ARN)`)

func schemaCannotSay(msg string) bool { return schemaMissMessages.MatchString(msg) }

// fileDoc is the document's shape for the independent checks.
type fileDoc struct {
	FunctionName     *string            `json:"FunctionName"`
	PushEventSources []PushSource       `json:"PushEventSources"`
	PullEventSources *struct{ ESM any } `json:"PullEventSources"`
}

// exactKeys checks that every object key of v is exactly a json name of
// the struct type t (maps take any key).
func exactKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // types are the schema's business
		}
		if t == reflect.TypeOf(struct{ ESM any }{}) {
			// PullEventSources: one key, EventSourceMapping.
			for k, val := range obj {
				if k != "EventSourceMapping" {
					return fmt.Errorf("%s: key %q", path, k)
				}
				items, isList := val.([]any)
				if !isList {
					items = []any{val}
				}
				for _, it := range items {
					if err := exactKeys(it, reflect.TypeOf(Mapping{}), path+".EventSourceMapping"); err != nil {
						return err
					}
				}
			}
			return nil
		}
		names := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names[name] = t.Field(i).Type
		}
		for k, val := range obj {
			ft, ok := names[k]
			if !ok {
				return fmt.Errorf("%s: key %q is not a field of %s", path, k, t.Name())
			}
			if err := exactKeys(val, ft, path+"."+k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if items, ok := v.([]any); ok {
			for _, it := range items {
				if err := exactKeys(it, t.Elem(), path+"[]"); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for k, val := range obj {
				if err := exactKeys(val, t.Elem(), path+"."+k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// noDuplicateKeys scans the document's tokens for a key repeated in one
// object, and for anything after the first value.
func noDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				return fmt.Errorf("unterminated value")
			}
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].expect = true
				}
				if len(stack) == 0 && dec.More() {
					return fmt.Errorf("data after the top-level value")
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return fmt.Errorf("duplicate key %q", k)
			}
			top.keys[k] = true
			top.expect = false
			continue
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			case ']':
				stack = stack[:len(stack)-1]
			}
		}
		// A value ended: the enclosing object expects a key again.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expect = true
		}
		if len(stack) == 0 && dec.More() {
			return fmt.Errorf("data after the top-level value")
		}
	}
}

// strictDecode decodes the document into the types with unknown fields
// refused.
func strictDecode(data []byte) error {
	var doc struct {
		FunctionName     *string
		PushEventSources []PushSource
		PullEventSources *struct{ EventSourceMapping json.RawMessage }
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if doc.PullEventSources == nil {
		return nil
	}
	raw := bytes.TrimSpace(doc.PullEventSources.EventSourceMapping)
	var target any = &Mapping{}
	if len(raw) > 0 && raw[0] == '[' {
		target = &[]Mapping{}
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(target)
}

// TestFuzzChecks_RefuseWhatTheyShould makes sure the independent checks of
// FuzzParse are not vacuous.
func TestFuzzChecks_RefuseWhatTheyShould(t *testing.T) {
	if noDuplicateKeys([]byte(`{"a": {"b": 1, "b": 2}}`)) == nil {
		t.Error("noDuplicateKeys missed a nested duplicate")
	}
	if noDuplicateKeys([]byte(`{"a": [1, {"b": 1}], "c": {"b": 2}}`)) != nil {
		t.Error("noDuplicateKeys flagged keys of different objects")
	}
	if noDuplicateKeys([]byte(`{} {}`)) == nil {
		t.Error("noDuplicateKeys missed trailing data")
	}
	var doc any
	_ = json.Unmarshal([]byte(`{"PullEventSources": {"EventSourceMapping": [{"batchSize": 1}]}}`), &doc)
	if exactKeys(doc, reflect.TypeOf(fileDoc{}), "") == nil {
		t.Error("exactKeys missed a miscased key")
	}
	_ = json.Unmarshal([]byte(`{"PullEventSources": {"EventSourceMapping": {"Tags": {"any key": "v"}, "FilterCriteria": {"Filters": [{"Pattern": "{}"}]}}}}`), &doc)
	if err := exactKeys(doc, reflect.TypeOf(fileDoc{}), ""); err != nil {
		t.Errorf("exactKeys refused map keys: %v", err)
	}
	if strictDecode([]byte(`{"PushEventSources": [{"Service": "x", "Extra": 1}]}`)) == nil {
		t.Error("strictDecode missed an unknown field")
	}
	for _, doc := range []string{
		`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "StartingPosition": "LATEST"}}}`,
		`{"PullEventSources": {"EventSourceMapping": [{"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "BatchSize": 11}]}}`,
		`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}}}`,
		`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x", "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1}}}`,
		`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "StartingPosition": "AT_TIMESTAMP"}}}`,
		`{"PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sns:us-east-1:123456789012:t"}}}`,
	} {
		if sourceRulesOracle([]byte(doc)) == nil {
			t.Errorf("sourceRulesOracle accepted %s", doc)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "msk.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench/"+contract.DefinitionFileName, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
