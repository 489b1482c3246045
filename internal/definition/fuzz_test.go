package definition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		file, err := Parse("fuzz/"+FileName, data, nil)
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error is %T, want Errors", err)
			}
			for _, e := range err.(Errors) {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %+v", e)
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
	})
}

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
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "msk.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench/"+FileName, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
