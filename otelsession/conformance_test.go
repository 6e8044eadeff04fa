package otelsession_test

import (
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/otelsession"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
	"github.com/sessionstore/sessionstore/storetest"
)

var maxDataSize = map[string]int{
	"memory":   memory.DefaultMaxDataSize,
	"redis":    redis.DefaultMaxDataSize,
	"postgres": postgres.DefaultMaxDataSize,
	"mongo":    mongo.DefaultMaxDataSize,
	"memcache": memcache.DefaultMaxDataSize,
	"mysql":    mysql.DefaultMaxDataSize,
	"sqlite":   sqlite.DefaultMaxDataSize,
}

// TestConformance runs the conformance suite over an instrumented store on
// every backend, with the real SDK recording a span for every call, so
// that the recording paths are what the suite exercises.
func TestConformance(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel() // the backends side by side: the suite mostly waits for them
			tel := newTelemetry(t)
			t.Cleanup(func() { // after the parallel subtests too
				if len(tel.storeSpans()) == 0 {
					t.Error("the suite's calls made no span")
				}
			})
			instrument := func(tb testing.TB, inner sessionstore.Store) sessionstore.Store {
				s, err := otelsession.WrapStore(inner, otelsession.Options{
					TracerProvider: tel.tp, MeterProvider: tel.mp, RootSpans: true,
				})
				if err != nil {
					tb.Fatal(err)
				}
				return s
			}
			var opener reopen.Opener
			storetest.Run(t, storetest.Harness{
				NewStore: func(tb testing.TB) sessionstore.Store {
					inner := b.NewStore(tb)
					return opener.Wrapped(instrument(tb, inner), inner, b.OpenAgain, instrument)
				},
				OpenAgain:   opener.OpenAgain,
				MaxDataSize: maxDataSize[b.Name],
			})
		})
	}
}
