package definition

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/contract"
	goldenfile "github.com/eventwire/eventwire/internal/testkit/golden"
)

// corpusCase is one file of testdata/valid or testdata/invalid: NAME.json,
// with NAME.lambdadef.json as its sibling _lambdadef.json if present, and
// NAME.golden holding the expected outcome.
type corpusCase struct {
	name    string
	file    string // testdata path
	data    []byte
	sibling []byte // nil: no sibling
}

// path is how the case names its file in messages.
func (c corpusCase) path() string { return c.name + "/" + contract.DefinitionFileName }

func loadCorpus(t testing.TB, dir string) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, f := range files {
		if strings.HasSuffix(f, ".lambdadef.json") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := corpusCase{name: strings.TrimSuffix(filepath.Base(f), ".json"), file: f, data: data}
		if sib, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".lambdadef.json"); err == nil {
			c.sibling = sib
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no corpus files in testdata/%s", dir)
	}
	return cases
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	goldenfile.Check(t, file, got)
}

func TestParse_ValidCorpus(t *testing.T) {
	for _, c := range loadCorpus(t, "valid") {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.path(), c.data, c.sibling)
			if err != nil {
				t.Fatalf("Parse refused a valid file:\n%v", err)
			}
			out, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(c.file, ".json")+".golden", string(out)+"\n")
		})
	}
}

func TestParse_InvalidCorpus(t *testing.T) {
	for _, c := range loadCorpus(t, "invalid") {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.path(), c.data, c.sibling)
			if err == nil {
				t.Fatalf("Parse accepted an invalid file: %+v", f)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors", err)
			}
			if !sort.SliceIsSorted(errs, func(i, j int) bool {
				return errs[i].File < errs[j].File || errs[i].File == errs[j].File &&
					(errs[i].Line < errs[j].Line || errs[i].Line == errs[j].Line && errs[i].Column < errs[j].Column)
			}) {
				t.Errorf("errors are not sorted by position:\n%v", err)
			}
			golden(t, strings.TrimSuffix(c.file, ".json")+".golden", err.Error()+"\n")
		})
	}
}

// schemaMisses reads testdata/schema_misses.txt: the invalid files that the
// JSON Schema cannot refuse.
func schemaMisses(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/schema_misses.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	misses := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, why, _ := strings.Cut(line, ":")
		misses[name] = strings.TrimSpace(why)
	}
	return misses
}

// TestSchemaAgreesWithValidator runs the JSON Schema (with a real JSON
// Schema implementation) and Parse over the whole corpus: every valid file
// passes both; every invalid file fails both, except those listed in
// schema_misses.txt, which the schema must accept (so the list stays true).
func TestSchemaAgreesWithValidator(t *testing.T) {
	s := compiledSchema(t)
	misses := schemaMisses(t)
	for _, dir := range []string{"valid", "invalid"} {
		for _, c := range loadCorpus(t, dir) {
			t.Run(dir+"/"+c.name, func(t *testing.T) {
				_, perr := Parse(c.path(), c.data, c.sibling)
				schemaOK, serr := schemaAccepts(s, c.data)
				goOK := perr == nil
				wantSchema := goOK
				if _, miss := misses[c.name]; miss {
					if dir == "valid" {
						t.Fatalf("%s is valid but listed in schema_misses.txt", c.name)
					}
					wantSchema = true
				}
				if dir == "valid" && !goOK {
					t.Fatalf("Parse refused a valid file: %v", perr)
				}
				if dir == "invalid" && goOK {
					t.Fatalf("Parse accepted an invalid file")
				}
				if schemaOK != wantSchema {
					t.Errorf("schema accepts=%v, want %v\nschema: %v\nParse: %v", schemaOK, wantSchema, serr, perr)
				}
			})
		}
	}
	for name := range misses {
		if _, err := os.Stat(filepath.Join("testdata", "invalid", name+".json")); err != nil {
			t.Errorf("schema_misses.txt names %s, which is not in testdata/invalid", name)
		}
	}
}

// TestExamples_ValidAndSchemaAccepts: the repository's examples pass Parse
// (with their sibling _lambdadef.json) and the JSON Schema.
func TestExamples_ValidAndSchemaAccepts(t *testing.T) {
	s := compiledSchema(t)
	files, err := Find(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no definition file under examples/")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Errorf("Load:\n%v", err)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := schemaAccepts(s, data); !ok {
				t.Errorf("the JSON Schema refuses it: %v", err)
			}
		})
	}
}
