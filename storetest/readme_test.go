package storetest_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsTheExample checks that the Go code of the README's "Writing
// your own store" is the code of MapStore and TestMapStore, character for
// character, so that what a store author copies from the README is what
// passes the suite here.
func TestREADMEShowsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if os.IsNotExist(err) {
		t.Skip("no README.md beside the package (a copy of the module without it)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var source strings.Builder
	for _, f := range []string{"example_test.go", "mapstore_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		source.Write(b)
	}
	blocks := goBlocks(t, string(readme), "## Writing your own store")
	if len(blocks) < 2 {
		t.Fatalf("the README's \"Writing your own store\" has %d Go blocks; want the store and its test", len(blocks))
	}
	for i, b := range blocks {
		if !strings.Contains(source.String(), b) {
			t.Errorf("Go block %d of the README's \"Writing your own store\" is not in example_test.go or mapstore_test.go as it is; copy it from there:\n%s", i+1, b)
		}
	}
	if !strings.Contains(string(readme), "sessionstore.ContextErr(ctx)") {
		t.Error("the README's \"Writing your own store\" never says to call sessionstore.ContextErr(ctx)")
	}
}

// goBlocks returns the contents of the ```go blocks of the README section
// headed heading.
func goBlocks(t *testing.T, readme, heading string) []string {
	start := strings.Index(readme, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("the README has no section %q", heading)
	}
	section := readme[start+len(heading)+2:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []string
	for {
		i := strings.Index(section, "```go\n")
		if i < 0 {
			return blocks
		}
		section = section[i+len("```go\n"):]
		j := strings.Index(section, "```\n")
		if j < 0 {
			t.Fatalf("a Go block of %q is not closed", heading)
		}
		blocks = append(blocks, section[:j])
		section = section[j:]
	}
}
