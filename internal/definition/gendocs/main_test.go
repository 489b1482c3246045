package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFileUpToDate holds the checked-in sdkdocs_gen.go to the SDK
// version go.mod requires: after an SDK upgrade, go generate
// ./internal/definition refreshes it.
func TestGeneratedFileUpToDate(t *testing.T) {
	got, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "sdkdocs_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("internal/definition/sdkdocs_gen.go is out of date: run go generate ./internal/definition")
	}
}

// TestDescribe covers the doc comment forms the SDK writes.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{
			name: "required marker dropped",
			src:  "// The name of the function.\n//\n// This member is required.\nField *string\n",
			want: "The name of the function.",
		},
		{
			name: "link inlined, definition dropped",
			src:  "// See [Lambda event filtering].\n//\n// [Lambda event filtering]: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html\nField *string\n",
			want: "See Lambda event filtering (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).",
		},
		{
			name: "two leading spaces are not a code block",
			src:  "//  The type of authentication.\n// More text.\n//\n//   - BASIC_AUTH – basic\n//   authentication.\nField *string\n",
			want: "The type of authentication. More text.\n\n  - BASIC_AUTH – basic authentication.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Extract(fakeSDK(t, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := docs["Field"]; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExtractRefusesUndocumentedField: a field without a description would
// leave a property without hover text.
func TestExtractRefusesUndocumentedField(t *testing.T) {
	_, err := Extract(fakeSDK(t, "Field *string\n"))
	if err == nil || !strings.Contains(err.Error(), "CreateEventSourceMappingInput.Field has no documentation") {
		t.Errorf("got %v, want an error naming the field", err)
	}
}

// fakeSDK writes the two SDK files Extract reads, the request struct with
// the given fields, and returns their folder.
func fakeSDK(t *testing.T, fields string) string {
	t.Helper()
	dir := t.TempDir()
	src := "package lambda\n\ntype CreateEventSourceMappingInput struct {\n" + fields + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "api_op_CreateEventSourceMapping.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "types"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "types", "types.go"), []byte("package types\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
