package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBinaryPrintsCheckedInSchema builds the CLI and holds `eventwire
// schema` byte-equal to the checked-in file editors fetch (refresh both:
// go test ./internal/definition -update).
func TestBinaryPrintsCheckedInSchema(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "eventwire")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/eventwire").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "schema")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("eventwire schema: %v\n%s", err, stderr.String())
	}
	file, err := os.ReadFile("lambdaeventsourcedef.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), file) {
		t.Errorf("eventwire schema differs from lambdaeventsourcedef.schema.json: go test ./internal/definition -update, then rebuild")
	}
}

// TestID: the $id is where the file is published, so an editor can fetch it.
func TestID(t *testing.T) {
	var doc struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != ID {
		t.Errorf("$id = %q, want %q", doc.ID, ID)
	}
	// The raw URL of this very file on the main branch.
	if want := "https://raw.githubusercontent.com/eventwire/eventwire/main/schema/lambdaeventsourcedef.schema.json"; ID != want {
		t.Errorf("ID = %q, want the file's raw URL %q", ID, want)
	}
}
