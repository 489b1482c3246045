package definition

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

// The SDK's CreateEventSourceMappingInput is generated from Lambda's API
// model: these tests hold the validator's tables and the decoded types to
// it, field by field and enum by enum, so that a field the API has and the
// file refuses (or the other way round) cannot go unnoticed.

// sdkFields returns the exported fields of an SDK struct type, by name.
func sdkFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && !f.Anonymous {
			out[f.Name] = f.Type
		}
	}
	return out
}

// enumValues returns the values of an SDK enum type (its Values method),
// or nil if typ is not one.
func enumValues(typ reflect.Type) []string {
	m, ok := typ.MethodByName("Values")
	if !ok || typ.Kind() != reflect.String {
		return nil
	}
	res := m.Func.Call([]reflect.Value{reflect.Zero(typ)})[0]
	var out []string
	for i := 0; i < res.Len(); i++ {
		out = append(out, res.Index(i).String())
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compareSpec checks that spec s describes the SDK type typ: same fields,
// same JSON types, same enum values, integer bounds within int32.
func compareSpec(t reporter, path string, s *spec, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if s == nil {
		t.Errorf("%s: no spec", path)
		return
	}
	if typ == reflect.TypeOf(time.Time{}) {
		if s.kind != kindNumber || s.integer {
			t.Errorf("%s: a timestamp is a number of seconds in the API's JSON, spec says %v", path, s.kind)
		}
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		if s.kind != kindObject || s.key != nil {
			t.Errorf("%s: SDK has a structure, spec has %v", path, s.kind)
			return
		}
		fields := sdkFields(typ)
		if diff := cmp.Diff(sortedKeys(fields), s.fieldNames()); diff != "" {
			t.Errorf("%s: fields differ from the SDK's %s (-sdk +spec):\n%s", path, typ.Name(), diff)
		}
		for _, name := range sortedKeys(fields) {
			if fs := s.field(name); fs != nil {
				compareSpec(t, path+"."+name, fs, fields[name])
			}
		}
	case reflect.Slice:
		if s.kind != kindArray {
			t.Errorf("%s: SDK has a list, spec has %v", path, s.kind)
			return
		}
		compareSpec(t, path+"[]", s.elem, typ.Elem())
	case reflect.Map:
		if s.kind != kindObject || s.key == nil {
			t.Errorf("%s: SDK has a map, spec has %v", path, s.kind)
			return
		}
		compareSpec(t, path+"{key}", s.key, typ.Key())
		compareSpec(t, path+"{}", s.elem, typ.Elem())
	case reflect.String:
		if s.kind != kindString {
			t.Errorf("%s: SDK has a string, spec has %v", path, s.kind)
			return
		}
		if values := enumValues(typ); values != nil {
			if diff := cmp.Diff(values, s.enum); diff != "" {
				t.Errorf("%s: enum differs from the SDK's %s (-sdk +spec):\n%s", path, typ.Name(), diff)
			}
		}
	case reflect.Int32:
		if s.kind != kindNumber || !s.integer {
			t.Errorf("%s: SDK has an integer, spec has %v (integer %v)", path, s.kind, s.integer)
			return
		}
		if s.min == nil || s.max == nil || *s.min < -1<<31 || *s.max > 1<<31-1 {
			t.Errorf("%s: integer bounds missing or outside int32", path)
		}
	case reflect.Bool:
		if s.kind != kindBool {
			t.Errorf("%s: SDK has a boolean, spec has %v", path, s.kind)
		}
	default:
		t.Errorf("%s: SDK type %v not handled by this test", path, typ)
	}
}

func TestSpec_MatchesSDKCreateEventSourceMappingInput(t *testing.T) {
	in := reflect.TypeOf(lambda.CreateEventSourceMappingInput{})
	if n := len(sdkFields(in)); n != 28 {
		t.Errorf("the SDK's CreateEventSourceMappingInput has %d fields, the API had 28 when this was written: review the new ones", n)
	}
	compareSpec(t, "EventSourceMapping", mappingSpec, in)
}

// compareTypes checks that the decoded Go type (types.go) has each of the
// SDK type's fields under the same JSON name and kind, so decoding drops
// nothing.
func compareTypes(t reporter, path string, ours, sdk reflect.Type) {
	t.Helper()
	for ours.Kind() == reflect.Pointer {
		ours = ours.Elem()
	}
	for sdk.Kind() == reflect.Pointer {
		sdk = sdk.Elem()
	}
	if sdk == reflect.TypeOf(time.Time{}) {
		if ours.Kind() != reflect.Float64 {
			t.Errorf("%s: a timestamp decodes as %v, want float64 seconds", path, ours)
		}
		return
	}
	if ours.Kind() != sdk.Kind() {
		t.Errorf("%s: %v, the SDK has %v", path, ours.Kind(), sdk.Kind())
		return
	}
	switch sdk.Kind() {
	case reflect.Struct:
		names := map[string]reflect.Type{}
		for i := 0; i < ours.NumField(); i++ {
			name, _, _ := strings.Cut(ours.Field(i).Tag.Get("json"), ",")
			names[name] = ours.Field(i).Type
		}
		// Every SDK field must decode. An extra field of ours is harmless
		// (the spec decides what a file may hold): KafkaEventSourceConfig
		// serves both Kafka configs and has ConsumptionMode, which only the
		// self-managed one has.
		sdkf := sdkFields(sdk)
		var missing []string
		for _, name := range sortedKeys(sdkf) {
			if _, ok := names[name]; !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: %s has no field for the SDK's %s.%s", path, ours.Name(), sdk.Name(), strings.Join(missing, ", "))
		}
		for _, name := range sortedKeys(sdkf) {
			if o, ok := names[name]; ok {
				compareTypes(t, path+"."+name, o, sdkf[name])
			}
		}
	case reflect.Slice, reflect.Map:
		compareTypes(t, path+"[]", ours.Elem(), sdk.Elem())
	}
}

func TestTypes_MatchSDKCreateEventSourceMappingInput(t *testing.T) {
	compareTypes(t, "Mapping", reflect.TypeOf(Mapping{}), reflect.TypeOf(lambda.CreateEventSourceMappingInput{}))
}

// reporter is the part of *testing.T the comparisons use.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// recorder is a reporter that keeps what it is told.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestSDKComparisons_NotVacuous makes sure the comparisons above can fail.
func TestSDKComparisons_NotVacuous(t *testing.T) {
	type fakeInput struct {
		BatchSize *int32
		Position  fakeEnum
		Extra     *string
	}
	var r recorder
	compareSpec(&r, "x", obj(nil, fld("BatchSize", integer(1, 10)), fld("Position", enum("a"))), reflect.TypeOf(fakeInput{}))
	want := []string{"fields differ", "enum differs"}
	if len(r.errs) != len(want) {
		t.Fatalf("compareSpec reported %q, want %d errors", r.errs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(r.errs[i], w) {
			t.Errorf("error %d = %q, want it to mention %q", i, r.errs[i], w)
		}
	}
	type ours struct {
		BatchSize *string `json:"BatchSize"`
	}
	r = recorder{}
	compareTypes(&r, "x", reflect.TypeOf(ours{}), reflect.TypeOf(fakeInput{}))
	if len(r.errs) != 2 {
		t.Errorf("compareTypes reported %q, want a missing field and a wrong type", r.errs)
	}
}

type fakeEnum string

func (fakeEnum) Values() []fakeEnum { return []fakeEnum{"a", "b"} }
