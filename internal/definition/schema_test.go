package definition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	goldenfile "github.com/eventwire/eventwire/internal/testkit/golden"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaPath is the checked-in schema (package schema embeds it).
var schemaPath = filepath.Join("..", "..", "schema", "lambdaeventsourcedef.schema.json")

// TestSchemaUpToDate keeps the checked-in schema byte-equal to what the
// validator's tables generate (refresh: go test ./internal/definition
// -update).
func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if goldenfile.Updating() {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Schema) {
		t.Errorf("%s is out of date: run go test ./internal/definition -update", schemaPath)
	}
}

// TestSchemaDescribesEveryProperty holds every property of the schema, at
// every depth, to a description (an editor's hover text). Rule clauses
// (allOf, anyOf, if/then/else, not) only restrict properties described
// elsewhere and are not walked.
func TestSchemaDescribesEveryProperty(t *testing.T) {
	var doc any
	if err := json.Unmarshal(Schema, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(node any, path string)
	walk = func(node any, path string) {
		switch n := node.(type) {
		case []any:
			for i, v := range n {
				walk(v, fmt.Sprintf("%s[%d]", path, i))
			}
		case map[string]any:
			for k, v := range n {
				switch k {
				case "allOf", "anyOf", "if", "then", "else", "not":
					continue
				case "properties":
					for name, p := range v.(map[string]any) {
						if d, _ := p.(map[string]any)["description"].(string); strings.TrimSpace(d) == "" {
							missing = append(missing, path+"/properties/"+name)
						}
					}
				}
				walk(v, path+"/"+k)
			}
		}
	}
	walk(doc, "#")
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("properties without a description:\n%s", strings.Join(missing, "\n"))
	}
	// The walk must have seen the nested request fields.
	for _, want := range []string{"DestinationConfig.OnFailure.Destination", "SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig.AccessConfigs.Type"} {
		if sdkDocs[want] == "" {
			t.Errorf("sdkDocs lacks %s", want)
		}
	}
}

// TestSDKDocsCoverTheRequest holds sdkDocs (generated) to the validator's
// table: one description per field of an event source mapping, at every
// depth, and none for a field the table does not have.
func TestSDKDocsCoverTheRequest(t *testing.T) {
	want := map[string]bool{}
	var walk func(s *spec, prefix string)
	walk = func(s *spec, prefix string) {
		for s.kind == kindArray {
			s = s.elem
		}
		for _, f := range s.fields {
			want[prefix+f.name] = true
			walk(f.spec, prefix+f.name+".")
		}
	}
	walk(mappingSpec, "")
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(sdkDocs)); diff != "" {
		t.Errorf("sdkDocs paths differ from mappingSpec (-spec +sdkDocs; go generate ./internal/definition):\n%s", diff)
	}
}

// compiledSchema compiles Schema with a real JSON Schema implementation.
func compiledSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compile schema.json: %v", err)
	}
	return s
}

// schemaAccepts runs the schema on a document; a document that is not JSON
// is refused.
func schemaAccepts(s *jsonschema.Schema, data []byte) (bool, error) {
	if !json.Valid(data) {
		return false, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return false, nil
	}
	err = s.Validate(doc)
	return err == nil, err
}
