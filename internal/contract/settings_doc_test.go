package contract

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/deploy.md's settings table from Settings")

const (
	settingsDoc   = "docs/deploy.md"
	settingsBegin = "<!-- BEGIN GENERATED: settings (internal/contract) -->\n"
	settingsEnd   = "<!-- END GENERATED: settings -->"
)

// settingsTable renders Settings as docs/deploy.md shows them.
func settingsTable(settings []Setting) string {
	var b strings.Builder
	b.WriteString("| context parameter | environment variable | default | what it does |\n| --- | --- | --- | --- |\n")
	for _, s := range settings {
		ctx, env := "", ""
		if s.Context != "" {
			ctx = "`" + s.Context + "`"
		}
		if s.Env != "" {
			env = "`" + s.Env + "`"
		}
		if s.EnvNote != "" {
			env = strings.TrimSpace(env + " " + s.EnvNote)
		}
		b.WriteString("| " + strings.Join([]string{ctx, env, s.Default, s.Doc}, " | ") + " |\n")
	}
	return b.String()
}

// withTable returns doc with the generated section replaced by table, and
// whether doc had the section's markers.
func withTable(doc, table string) (string, bool) {
	begin := strings.Index(doc, settingsBegin)
	end := strings.Index(doc, settingsEnd)
	if begin < 0 || end < begin {
		return doc, false
	}
	return doc[:begin+len(settingsBegin)] + table + doc[end:], true
}

// TestSettingsDoc_UpToDate: docs/deploy.md's settings table is generated
// from Settings, so each setting is described once.
func TestSettingsDoc_UpToDate(t *testing.T) {
	path := filepath.Join("..", "..", filepath.FromSlash(settingsDoc))
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want, ok := withTable(doc, settingsTable(Settings))
	if !ok {
		t.Fatalf("%s has no %q ... %q section", settingsDoc, strings.TrimSpace(settingsBegin), settingsEnd)
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Errorf("%s's settings table is out of date with contract.Settings: run go test ./internal/contract -update", settingsDoc)
	}
}

// TestSettingsTable_ShowsEveryChange makes sure a changed setting changes
// the table (and so fails the test above until the page is regenerated).
func TestSettingsTable_ShowsEveryChange(t *testing.T) {
	base := []Setting{{Context: CtxDriftHeal, Env: EnvDriftHeal, Default: "`false`", Doc: "heals"}}
	table := settingsTable(base)
	for name, change := range map[string]func(*Setting){
		"context": func(s *Setting) { s.Context = "drift" },
		"env":     func(s *Setting) { s.Env = "" },
		"note":    func(s *Setting) { s.EnvNote = "(a JSON list)" },
		"default": func(s *Setting) { s.Default = "`true`" },
		"doc":     func(s *Setting) { s.Doc = "reports" },
	} {
		s := base[0]
		change(&s)
		if settingsTable([]Setting{s}) == table {
			t.Errorf("changing the %s leaves the table as it was", name)
		}
	}
	doc := "intro\n" + settingsBegin + "old\n" + settingsEnd + "\nrest\n"
	got, ok := withTable(doc, table)
	if !ok || got != "intro\n"+settingsBegin+table+settingsEnd+"\nrest\n" {
		t.Errorf("withTable = %q, %v", got, ok)
	}
	if _, ok := withTable("no markers", table); ok {
		t.Error("withTable found markers in a page without them")
	}
}

// TestSettings_EveryContextParameterOnce: the stack refuses unknown keys
// from this list, so a name twice, or a row with neither a parameter nor
// a variable, is a mistake.
func TestSettings_EveryContextParameterOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if s.Context == "" && s.Env == "" {
			t.Errorf("a setting with neither a context parameter nor an environment variable: %+v", s)
		}
		if s.Context != "" && seen[s.Context] {
			t.Errorf("context parameter %s listed twice", s.Context)
		}
		seen[s.Context] = true
	}
}
