package memory_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	mathrand "math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessionstore/sessionstore/memory"
)

// The workload of BenchmarkPair: a request loads its session and saves it
// back, over this many live sessions of this size.
const (
	benchSessions = 10_000
	benchDataSize = 256
)

// pairStore is one load+save pair on the store under comparison.
type pairStore struct {
	name string
	new  func(b *testing.B, ids []string, data []byte, exp time.Time) (pair func(id string))
}

var pairStores = []pairStore{
	{"memory", func(b *testing.B, ids []string, data []byte, exp time.Time) func(string) {
		s := memory.New(memory.Options{})
		b.Cleanup(func() { s.Close() })
		ctx := context.Background()
		for _, id := range ids {
			if err := s.Save(ctx, id, data, exp); err != nil {
				b.Fatal(err)
			}
		}
		return func(id string) {
			rec, ok, err := s.Load(ctx, id)
			if !ok || err != nil {
				b.Fatalf("Load(%q) = %v, %v", id, ok, err)
			}
			if err := s.Save(ctx, id, rec.Data, exp); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"scs-memstore", func(b *testing.B, ids []string, data []byte, exp time.Time) func(string) {
		// No cleanup goroutine: it would cost both stores the same, and
		// scs's StopCleanup races with the goroutine it stops.
		s := memstore.NewWithCleanupInterval(0)
		for _, id := range ids {
			if err := s.Commit(id, data, exp); err != nil {
				b.Fatal(err)
			}
		}
		return func(id string) {
			data, ok, err := s.Find(id)
			if !ok || err != nil {
				b.Fatalf("Find(%q) = %v, %v", id, ok, err)
			}
			if err := s.Commit(id, data, exp); err != nil {
				b.Fatal(err)
			}
		}
	}},
}

// BenchmarkPair measures a request's load+save of its session on this
// store and on scs's memstore, serially and from GOMAXPROCS goroutines:
//
//	go test -run '^$' -bench Pair -benchmem -cpu 1,2 ./memory/
func BenchmarkPair(b *testing.B) {
	ids := make([]string, benchSessions)
	for i := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString(randomBytes(32)) // 256 bits, as the Manager makes
	}
	data := randomBytes(benchDataSize)
	exp := time.Now().Add(time.Hour)

	b.Run("serial", func(b *testing.B) {
		for _, ps := range pairStores {
			b.Run(ps.name, func(b *testing.B) {
				pair := ps.new(b, ids, data, exp)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					pair(ids[i])
					if i++; i == len(ids) {
						i = 0
					}
				}
			})
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for _, ps := range pairStores {
			b.Run(ps.name, func(b *testing.B) {
				pair := ps.new(b, ids, data, exp)
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					// Each goroutine walks the ids from its own random start.
					i := mathrand.New(mathrand.NewPCG(seed.Add(1), 0)).IntN(len(ids))
					for pb.Next() {
						pair(ids[i])
						if i++; i == len(ids) {
							i = 0
						}
					}
				})
			})
		}
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
