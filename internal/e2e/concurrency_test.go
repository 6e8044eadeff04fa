package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// rounds is how many times each race is run per backend.
const rounds = 3

// TestConcurrentWriters sends 100 requests of one session at once, each
// changing it, several rounds on every backend: none may fail, none may set
// a cookie (the session exists), and no change may be lost.
func TestConcurrentWriters(t *testing.T) {
	const writers = 100
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			t.Run("one counter", func(t *testing.T) {
				cookie := a.seed(t)
				for round := 1; round <= rounds; round++ {
					replies := a.concurrently(repeat("/inc", writers), cookie)
					wantAllKept(t, replies)
					want := fmt.Sprintf("n=%d;", round*writers)
					if rp := a.mustGet(t, "/read", cookie); !strings.Contains(rp.body, want) {
						t.Fatalf("round %d: session holds %q, want %s", round, rp.body, want)
					}
				}
			})
			t.Run("two instances", func(t *testing.T) {
				// Two Managers over one store stand for two application
				// servers: their requests meet only in the database.
				other := newApp(t, a.m.Store)
				cookie := a.seed(t)
				for round := 1; round <= rounds; round++ {
					var fromOther []reply
					done := make(chan struct{})
					go func() { defer close(done); fromOther = other.concurrently(repeat("/inc", writers/2), cookie) }()
					replies := a.concurrently(repeat("/inc", writers/2), cookie)
					<-done
					wantAllKept(t, append(replies, fromOther...))
					want := fmt.Sprintf("n=%d;", round*writers)
					if rp := other.mustGet(t, "/read", cookie); !strings.Contains(rp.body, want) {
						t.Fatalf("round %d: session holds %q, want %s", round, rp.body, want)
					}
				}
			})
			t.Run("a key each", func(t *testing.T) {
				cookie := a.seed(t)
				for round := range rounds {
					replies := a.concurrently(numbered(fmt.Sprintf("/put?k=r%d-w%%03d", round), writers), cookie)
					wantAllKept(t, replies)
				}
				body := a.mustGet(t, "/read", cookie).body
				if got, want := strings.Count(body, ";"), rounds*writers+1; got != want {
					t.Fatalf("session holds %d keys, want %d: %s", got, want, body)
				}
			})
		})
	}
}

// wantAllKept fails unless every reply is a 200 that set no cookie and whose
// changes were not dropped.
func wantAllKept(t *testing.T, replies []reply) {
	t.Helper()
	for _, rp := range replies {
		if rp.err != nil || rp.status != http.StatusOK || len(rp.cookies) > 0 || rp.body != "dropped=false" {
			t.Fatalf("replies: %s; one of them: %d %q %v, cookies %v", summarize(replies), rp.status, rp.body, rp.err, rp.cookies)
		}
	}
}

// BenchmarkConcurrentWriters measures 100 concurrent requests of one session,
// each incrementing one counter, on every backend: one iteration is one
// round of 100. It reports requests per second, the 99th percentile and
// the largest latency of a request, and the share of requests that failed.
//
//	./scripts/test -run '^$' -bench ConcurrentWriters -benchtime 20x ./internal/e2e/
func BenchmarkConcurrentWriters(b *testing.B) {
	const writers = 100
	for _, be := range backends() {
		b.Run(be.Name, func(b *testing.B) {
			a := newApp(b, be.NewStore(b))
			cookie := a.seed(b)
			var took []time.Duration
			failed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, rp := range a.concurrently(repeat("/inc", writers), cookie) {
					took = append(took, rp.took)
					if rp.err != nil || rp.status != http.StatusOK {
						failed++
					}
				}
			}
			elapsed := b.Elapsed()
			slices.Sort(took)
			b.ReportMetric(float64(len(took))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(100*float64(failed)/float64(len(took)), "%failed")
			b.ReportMetric(0, "ns/op")
		})
	}
}
