package memory_test

import (
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/storetest"
)

// harness runs the conformance suite on stores with the default options.
var harness = storetest.Harness{
	NewStore: func(t testing.TB) sessionstore.Store {
		return newStore(t, memory.Options{})
	},
	MaxDataSize: memory.DefaultMaxDataSize,
	// ExpiryPrecision 0: Load compares every expiry with the clock.

	// A memory store has no database to lose. A closed one is the nearest
	// thing: it cannot serve, so rule 8 holds it to failing every call
	// promptly with an error and never reporting "found".
	NewUnreachableStore: func(t testing.TB) sessionstore.Store {
		s := memory.New(memory.Options{})
		s.Close()
		return s
	},

	// Every memory store is apart from every other, whatever its name.
	NewNamedStore: func(t testing.TB, _ string) sessionstore.Store {
		return newStore(t, memory.Options{})
	},
	NestedNames: true,

	// A memory store's data lives in the Store value: a second handle on it
	// is the same value, as every goroutine of a program shares one store.
	// After Close there is no data to open again, so the checks across a
	// restart are skipped.
	OpenAgain: reopen.Same,
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness)
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, harness)
}
