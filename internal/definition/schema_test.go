package definition

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	goldenfile "github.com/eventwire/eventwire/internal/golden"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSchemaUpToDate keeps schema.json equal to what the validator's tables
// generate (refresh: go test ./internal/definition -update).
func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if goldenfile.Updating() {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Schema) {
		t.Errorf("schema.json is out of date: run go test ./internal/definition -update")
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
