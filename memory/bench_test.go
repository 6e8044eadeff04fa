package memory_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
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

// pairStore is a store under comparison.
type pairStore struct {
	name string
	// open fills a new store with the sessions and returns one load+save
	// pair on it and a function releasing the store.
	open func(ids []string, data []byte, exp time.Time) (pair func(id string) error, release func(), err error)
}

var pairStores = []pairStore{
	{"memory", func(ids []string, data []byte, exp time.Time) (func(string) error, func(), error) {
		s := memory.New(memory.Options{})
		ctx := context.Background()
		for _, id := range ids {
			if err := s.Save(ctx, id, data, exp); err != nil {
				return nil, nil, err
			}
		}
		return func(id string) error {
			rec, ok, err := s.Load(ctx, id)
			if !ok || err != nil {
				return fmt.Errorf("Load(%q) = %v, %v", id, ok, err)
			}
			return s.Save(ctx, id, rec.Data, exp)
		}, func() { s.Close() }, nil
	}},
	{"memory-shared", func(ids []string, data []byte, exp time.Time) (func(string) error, func(), error) {
		// The Manager's path (sessionstore.Sharer): what it loads it only
		// decodes, what it saves it encoded into a buffer it hands over.
		s := memory.New(memory.Options{})
		ctx := context.Background()
		for _, id := range ids {
			if err := s.SaveShared(ctx, id, clone(data), exp); err != nil {
				return nil, nil, err
			}
		}
		return func(id string) error {
			rec, ok, err := s.LoadShared(ctx, id)
			if !ok || err != nil {
				return fmt.Errorf("LoadShared(%q) = %v, %v", id, ok, err)
			}
			return s.SaveShared(ctx, id, rec.Data, exp)
		}, func() { s.Close() }, nil
	}},
	{"scs-memstore", func(ids []string, data []byte, exp time.Time) (func(string) error, func(), error) {
		// No cleanup goroutine: scs's StopCleanup races with the
		// goroutine it stops, and it would cost both stores alike.
		s := memstore.NewWithCleanupInterval(0)
		for _, id := range ids {
			if err := s.Commit(id, data, exp); err != nil {
				return nil, nil, err
			}
		}
		return func(id string) error {
			data, ok, err := s.Find(id)
			if !ok || err != nil {
				return fmt.Errorf("Find(%q) = %v, %v", id, ok, err)
			}
			return s.Commit(id, data, exp)
		}, func() {}, nil
	}},
}

// BenchmarkPair measures a request's load+save of its session on this
// store and on scs's memstore, serially and from GOMAXPROCS goroutines,
// each store on its own so that the other's heap does not weigh on it:
//
//	go test -run '^$' -bench Pair -benchmem -cpu 1,2 ./memory/
func BenchmarkPair(b *testing.B) {
	ids := make([]string, benchSessions)
	for i := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString(randomBytes(32)) // 256 bits, as the Manager makes
	}
	data := randomBytes(benchDataSize)
	exp := time.Now().Add(time.Hour)

	// each runs bench on every store, opening it once for all the runs of
	// its sub-benchmark and releasing it after them.
	each := func(b *testing.B, bench func(b *testing.B, pair func(string) error)) {
		for _, ps := range pairStores {
			pair, release, err := ps.open(ids, data, exp)
			if err != nil {
				b.Fatalf("%s: filling the store: %v", ps.name, err)
			}
			b.Run(ps.name, func(b *testing.B) {
				start := processCPU()
				bench(b, pair)
				// On a machine that other jobs keep busy, ns/op also
				// counts the time they held the CPU; cpu-ns/op does not.
				if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
			release()
		}
	}
	b.Run("serial", func(b *testing.B) {
		each(b, func(b *testing.B, pair func(string) error) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := pair(ids[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(ids) {
					i = 0
				}
			}
		})
	})
	b.Run("parallel", func(b *testing.B) {
		each(b, func(b *testing.B, pair func(string) error) {
			var seed atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine walks the ids from its own random start.
				i := mathrand.New(mathrand.NewPCG(seed.Add(1), 0)).IntN(len(ids))
				for pb.Next() {
					if err := pair(ids[i]); err != nil {
						b.Error(err)
						return
					}
					if i++; i == len(ids) {
						i = 0
					}
				}
			})
		})
	})
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
