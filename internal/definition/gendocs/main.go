// Command gendocs writes sdkdocs_gen.go: the API reference's description of
// every field of Lambda's CreateEventSourceMapping request, taken from the
// doc comments of the AWS SDK for Go v2 (CreateEventSourceMappingInput and
// the nested types of service/lambda/types) at the version go.mod requires.
// The JSON Schema uses them as hover text. Run through go generate in
// internal/definition:
//
//	go generate ./internal/definition
//
// A generator, run by go generate: it reads the SDK's sources with go/parser
// and imports only the standard library.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sdkModule is the module whose doc comments are read.
const sdkModule = "github.com/aws/aws-sdk-go-v2/service/lambda"

func main() {
	out := flag.String("o", "sdkdocs_gen.go", "file to write")
	flag.Parse()
	src, err := Generate()
	if err != nil {
		log.Fatalf("gendocs: %v", err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatalf("gendocs: %v", err)
	}
}

// Generate returns the source of sdkdocs_gen.go for the SDK version the
// current module requires.
func Generate() ([]byte, error) {
	dir, version, err := sdkDir()
	if err != nil {
		return nil, err
	}
	docs, err := Extract(dir)
	if err != nil {
		return nil, err
	}
	return render(docs, version)
}

// sdkDir asks the go command where the module cache holds the SDK's Lambda
// client at the version go.mod requires.
func sdkDir() (dir, version string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", sdkModule).Output()
	if err != nil {
		return "", "", fmt.Errorf("locate module %s: %w", sdkModule, err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || dir == "" {
		return "", "", fmt.Errorf("locate module %s: not in the module cache (run go mod download)", sdkModule)
	}
	return dir, version, nil
}

// Extract reads the SDK source in dir and returns the description of every
// field reachable from CreateEventSourceMappingInput, by its path in the
// request ("DestinationConfig.OnFailure.Destination"; a list's items and a
// map's values add no step).
func Extract(dir string) (map[string]string, error) {
	structs := map[string]*ast.TypeSpec{}
	for _, f := range []string{"api_op_CreateEventSourceMapping.go", filepath.Join("types", "types.go")} {
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, f), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse SDK source %s: %w", f, err)
		}
		collectStructs(file, structs)
	}
	docs := map[string]string{}
	if err := walk(structs, "CreateEventSourceMappingInput", "", docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// collectStructs adds the struct types of file to structs, by name, with
// their doc comment moved onto the spec.
func collectStructs(file *ast.File, structs map[string]*ast.TypeSpec) {
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, s := range gd.Specs {
			ts := s.(*ast.TypeSpec)
			if _, ok := ts.Type.(*ast.StructType); !ok {
				continue
			}
			if ts.Doc == nil {
				ts.Doc = gd.Doc
			}
			structs[ts.Name.Name] = ts
		}
	}
}

// walk records the fields of struct type name under prefix, and those of
// the struct types they refer to.
func walk(structs map[string]*ast.TypeSpec, name, prefix string, docs map[string]string) error {
	ts, ok := structs[name]
	if !ok {
		return fmt.Errorf("SDK source has no struct type %s", name)
	}
	for _, f := range ts.Type.(*ast.StructType).Fields.List {
		for _, id := range f.Names {
			if !id.IsExported() {
				continue
			}
			path := prefix + id.Name
			target := typeName(f.Type)
			text := describe(f.Doc)
			if nested, ok := structs[target]; ok && text == "" {
				text = describe(nested.Doc)
			}
			if text == "" {
				return fmt.Errorf("SDK field %s.%s has no documentation", name, id.Name)
			}
			docs[path] = text
			if _, ok := structs[target]; ok {
				if err := walk(structs, target, path+".", docs); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// typeName is the name of the named type a field holds, through pointers,
// slices, maps and the types package qualifier.
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.ArrayType:
		return typeName(t.Elt)
	case *ast.MapType:
		return typeName(t.Value)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}

// describe turns a doc comment into plain text for an editor's hover:
// paragraphs and list items kept, links written as "text (URL)", the SDK's
// "This member is required." dropped (eventwire decides what a file
// requires).
func describe(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	// Some SDK comments start with two spaces ("//  The ..."): that one
	// extra space would make the line a code block.
	lines := strings.Split(cg.Text(), "\n")
	for i, l := range lines {
		if len(l) > 1 && l[0] == ' ' && l[1] != ' ' {
			lines[i] = l[1:]
		}
	}
	var p comment.Parser
	d := p.Parse(strings.Join(lines, "\n"))
	var kept []comment.Block
	for _, b := range d.Content {
		if para, ok := b.(*comment.Paragraph); ok && plain(para.Text) == "This member is required." {
			continue
		}
		inlineLinks(b)
		kept = append(kept, b)
	}
	d.Content, d.Links = kept, nil
	pr := comment.Printer{TextWidth: -1}
	return strings.TrimSpace(string(pr.Text(d)))
}

// plain is the text of a paragraph without its markup.
func plain(ts []comment.Text) string {
	var b strings.Builder
	for _, t := range ts {
		switch t := t.(type) {
		case comment.Plain:
			b.WriteString(string(t))
		case comment.Italic:
			b.WriteString(string(t))
		case *comment.Link:
			b.WriteString(plain(t.Text))
		case *comment.DocLink:
			b.WriteString(plain(t.Text))
		}
	}
	return strings.TrimSpace(b.String())
}

// inlineLinks rewrites the links of a block as "text (URL)".
func inlineLinks(b comment.Block) {
	rewrite := func(ts []comment.Text) {
		for i, t := range ts {
			if l, ok := t.(*comment.Link); ok && !l.Auto {
				ts[i] = comment.Plain(plain(l.Text) + " (" + l.URL + ")")
			}
		}
	}
	switch b := b.(type) {
	case *comment.Paragraph:
		rewrite(b.Text)
	case *comment.Heading:
		rewrite(b.Text)
	case *comment.List:
		for _, it := range b.Items {
			for _, c := range it.Content {
				inlineLinks(c)
			}
		}
	}
}

// render formats the Go file holding docs.
func render(docs map[string]string, version string) ([]byte, error) {
	paths := make([]string, 0, len(docs))
	for p := range docs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by gendocs from %s %s; DO NOT EDIT.\n\n", sdkModule, version)
	b.WriteString("package definition\n\n")
	b.WriteString("// sdkDocs is the API reference's description of each field of the\n")
	b.WriteString("// CreateEventSourceMapping request, by its path in an EventSourceMapping\n")
	b.WriteString("// entry (from the SDK's doc comments: go generate ./internal/definition).\n")
	b.WriteString("var sdkDocs = map[string]string{\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "\t%s: %s,\n", strconv.Quote(p), strconv.Quote(docs[p]))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
