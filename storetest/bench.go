package storetest

import (
	"encoding/base64"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// The benchmark workload: a request loads its session and saves it back,
// over a store already holding many live sessions.
const (
	benchSessions = 10_000
	benchDataSize = 200 // a typical encoded session: a user id, a few flags, a CSRF token
	benchFillers  = 8   // goroutines filling the store, to spare a network store's round trips
)

// RunBenchmarks runs sub-benchmarks of the store described by h, over one
// store pre-filled with 10,000 live sessions of 200 random bytes under random
// 43-byte ids (the size of a 256-bit id in base64):
//
//   - Load: one Load of a live session.
//   - Save: one Save over a live session.
//   - LoadSave: a Load and a Save of the same session, as one request does.
//   - LoadSaveParallel: LoadSave from b.RunParallel goroutines (run with
//     -cpu 1,2,4 to see how the store scales).
//
// A backend calls it from its own benchmark, next to benchmarks of the raw
// driver call, so that the figures compare in one run:
//
//	func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, harness) }
//
// and runs it with go test -run '^$' -bench Store -benchmem. Every
// sub-benchmark reports allocations.
func RunBenchmarks(b *testing.B, h Harness) {
	st := h.NewStore(b)
	ctx := b.Context()
	expiry := time.Now().Add(longLife)
	ids, data := fill(b, st, expiry)

	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, found, err := st.Load(ctx, ids[i%len(ids)]); err != nil || !found {
				b.Fatalf("Load = found %v, %v", found, err)
			}
			i++
		}
	})
	b.Run("Save", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := st.Save(ctx, ids[i%len(ids)], data, expiry); err != nil {
				b.Fatalf("Save = %v", err)
			}
			i++
		}
	})
	b.Run("LoadSave", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			id := ids[i%len(ids)]
			rec, found, err := st.Load(ctx, id)
			if err != nil || !found {
				b.Fatalf("Load = found %v, %v", found, err)
			}
			if err := st.Save(ctx, id, rec.Data, expiry); err != nil {
				b.Fatalf("Save = %v", err)
			}
			i++
		}
	})
	b.Run("LoadSaveParallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine walks the sessions from its own random start.
			i := rand.New(rand.NewPCG(next.Add(1), 3)).IntN(len(ids))
			for pb.Next() {
				id := ids[i%len(ids)]
				rec, found, err := st.Load(ctx, id)
				if err != nil || !found {
					b.Errorf("Load = found %v, %v", found, err)
					return
				}
				if err := st.Save(ctx, id, rec.Data, expiry); err != nil {
					b.Errorf("Save = %v", err)
					return
				}
				i++
			}
		})
	})
}

// fill saves the benchmark sessions into st and returns their ids and the
// data saved (one random value for all: its content does not matter).
func fill(b *testing.B, st sessionstore.Store, expiry time.Time) (ids []string, data []byte) {
	b.Helper()
	rng := rand.NewChaCha8([32]byte{'s', 'e', 's', 's', 'i', 'o', 'n'})
	ids = make([]string, benchSessions)
	raw := make([]byte, 32)
	for i := range ids {
		rng.Read(raw)
		ids[i] = base64.RawURLEncoding.EncodeToString(raw)
	}
	data = make([]byte, benchDataSize)
	rng.Read(data)

	var wg sync.WaitGroup
	var failed atomic.Bool
	for f := range benchFillers {
		wg.Go(func() {
			for i := f; i < len(ids) && !failed.Load(); i += benchFillers {
				if err := st.Save(b.Context(), ids[i], data, expiry); err != nil {
					b.Errorf("filling the store: Save = %v", err)
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		b.FailNow()
	}
	return ids, data
}
