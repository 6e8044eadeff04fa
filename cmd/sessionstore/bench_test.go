package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs a short, count-bound bench against each backend: every
// operation is measured without error, the JSON and HTML reports hold what
// the run measured, and nothing is left in the server.
func TestBench(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := b.url(t)
			html := filepath.Join(t.TempDir(), "report.html")
			r := sessionstoreCmd(t, "bench", "-n", "400", "-c", "4", "-sessions", "50", "-size", "2000", "-json", "-html", html, u).want(t, exitOK)
			var rep benchReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("bench -json printed %q: %v", r.stdout, err)
			}
			total := 0
			for _, o := range rep.Ops {
				total += o.Count + o.Errors
				if o.Errors > 0 || o.Count == 0 || o.P50 <= 0 || o.P50 > o.P90 || o.P90 > o.P99 || o.P99 > o.Max {
					t.Errorf("%s: %+v", o.Op, o)
				}
			}
			if total != 400 || len(rep.Ops) != 4 || rep.FirstError != "" {
				t.Errorf("%d operations in %d kinds, first error %q; want 400 in 4, none", total, len(rep.Ops), rep.FirstError)
			}
			page, err := os.ReadFile(html)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(page), "<svg"); n != 4 || strings.Contains(string(page), "<script") || strings.Contains(string(page), "src=") {
				t.Errorf("the HTML report has %d histograms (want 4) or loads something", n)
			}
			if left := leftovers(t, b.name, u, "sessionstore_bench_"); len(left) > 0 {
				t.Errorf("bench left %q behind", left)
			}

			table := sessionstoreCmd(t, "bench", "-d", "300ms", "-ops", "load,save", "-sessions", "10", u).want(t, exitOK).stdout
			for _, want := range []string{"operation", "p50", "p99", "Load", "Save", "operations/s in all"} {
				if !strings.Contains(table, want) {
					t.Errorf("bench table lacks %q:\n%s", want, table)
				}
			}
			if strings.Contains(table, "Touch") {
				t.Errorf("bench -ops load,save measured Touch:\n%s", table)
			}
		})
	}
}
