package sessionstore_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestPackageOverview checks what the package doc promises a reader of go
// doc: the first paragraph gives the order of use, and every exported type
// and function is linked under the heading of who uses it, the application
// or a store's author, so that a new name does not slip into the index
// unexplained.
func TestPackageOverview(t *testing.T) {
	fset := token.NewFileSet()
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range goFiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/sessionstore/sessionstore")
	if err != nil {
		t.Fatal(err)
	}

	first, _, _ := strings.Cut(p.Doc, "\n\n")
	if !strings.Contains(strings.Join(strings.Fields(first), " "), "New, then Handler, then FromContext") {
		t.Errorf("the overview's first paragraph does not say \"New, then Handler, then FromContext\":\n%s", first)
	}
	_, apps, ok1 := strings.Cut(p.Doc, "\n# For applications\n")
	apps, store, ok2 := strings.Cut(apps, "\n# Writing a store\n")
	if !ok1 || !ok2 {
		t.Fatalf("the overview lacks the headings \"# For applications\" then \"# Writing a store\":\n%s", p.Doc)
	}

	var names []string
	for _, f := range p.Funcs {
		names = append(names, f.Name)
	}
	for _, ty := range p.Types {
		names = append(names, ty.Name)
		for _, f := range ty.Funcs { // constructors: New, FromContext, Inspect
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.Contains(apps, "["+n+"]") && !strings.Contains(store, "["+n+"]") {
			t.Errorf("%s is linked under neither \"For applications\" nor \"Writing a store\" in the package overview", n)
		}
	}
	if len(names) < 20 {
		t.Errorf("found only %d exported names: %q", len(names), names)
	}
}
