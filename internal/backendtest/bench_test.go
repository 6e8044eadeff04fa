package backendtest_test

import (
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/storetest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestEveryBackendOpens proves each backend's constructor here opens a
// working, isolated store on its real server, so the benchmark below and the
// adapter tests measure what they claim.
func TestEveryBackendOpens(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			a, other := b.NewStore(t), b.NewStore(t)
			ctx := t.Context()
			if err := a.Save(ctx, "id", []byte("data"), farFuture()); err != nil {
				t.Fatal(err)
			}
			rec, found, err := a.Load(ctx, "id")
			if err != nil || !found || string(rec.Data) != "data" {
				t.Fatalf("Load = %q, %v, %v; want data", rec.Data, found, err)
			}
			if _, found, err := other.Load(ctx, "id"); err != nil || found {
				t.Fatalf("another store of %s sees the record: found=%v err=%v", b.Name, found, err)
			}
		})
	}
}

// BenchmarkBackends runs storetest's benchmarks on every backend in one run,
// each on its real server in a container: the figures of the README's
// "Choosing a backend" table.
//
//	./scripts/test -run '^$' -bench Backends -benchmem ./internal/backendtest/
func BenchmarkBackends(b *testing.B) {
	for _, be := range backendtest.All() {
		b.Run(be.Name, func(b *testing.B) {
			storetest.RunBenchmarks(b, storetest.Harness{NewStore: be.NewStore})
		})
	}
}

func farFuture() time.Time { return time.Now().Add(time.Hour) }
