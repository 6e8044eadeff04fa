package memory_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mathrand "math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
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
	// pair on it and a function releasing the store. With fresh set, the
	// pair saves a new copy of what it loaded, as an application that
	// encodes each save into a new buffer does: the garbage it leaves is
	// what makes the collector run under load.
	open func(ids []string, data []byte, exp time.Time, fresh bool) (pair func(sessionKey) error, release func(), err error)
}

var pairStores = []pairStore{
	{"memory", func(ids []string, data []byte, exp time.Time, fresh bool) (func(sessionKey) error, func(), error) {
		s := memory.New(memory.Options{MaxSessions: -1}) // room for BenchmarkMillions
		ctx := context.Background()
		for _, id := range ids {
			if err := s.Save(ctx, id, data, exp); err != nil {
				return nil, nil, err
			}
		}
		return func(k sessionKey) error {
			id := k.request
			rec, ok, err := s.Load(ctx, id)
			if !ok || err != nil {
				return fmt.Errorf("Load(%q) = %v, %v", id, ok, err)
			}
			return s.Save(ctx, id, maybeClone(rec.Data, fresh), exp)
		}, func() { s.Close() }, nil
	}},
	{"memory-swap", func(ids []string, data []byte, exp time.Time, fresh bool) (func(sessionKey) error, func(), error) {
		// What the Manager does with a session it loaded and changed: Load,
		// then CompareAndSwap over the loaded version.
		s := memory.New(memory.Options{MaxSessions: -1})
		ctx := context.Background()
		for _, id := range ids {
			if err := s.Save(ctx, id, data, exp); err != nil {
				return nil, nil, err
			}
		}
		return func(k sessionKey) error {
			id := k.request
			rec, ok, err := s.Load(ctx, id)
			if !ok || err != nil {
				return fmt.Errorf("Load(%q) = %v, %v", id, ok, err)
			}
			// A swap lost to another goroutine's on the same id is the
			// conflict the Manager merges: not a failure here.
			if _, err := s.CompareAndSwap(ctx, id, rec.Version, maybeClone(rec.Data, fresh), exp); err != nil {
				return fmt.Errorf("CompareAndSwap(%q): %v", id, err)
			}
			return nil
		}, func() { s.Close() }, nil
	}},
	{"scs-memstore", func(ids []string, data []byte, exp time.Time, fresh bool) (func(sessionKey) error, func(), error) {
		// No cleanup goroutine: scs's StopCleanup races with the
		// goroutine it stops, and it would cost both stores alike.
		s := memstore.NewWithCleanupInterval(0)
		for _, id := range ids {
			// A buffer of its own for each session, as an application's
			// encoder makes: scs keeps the caller's slice.
			if err := s.Commit(id, clone(data), exp); err != nil {
				return nil, nil, err
			}
		}
		return func(k sessionKey) error {
			data, ok, err := s.Find(k.request)
			if !ok || err != nil {
				return fmt.Errorf("Find(%q) = %v, %v", k.request, ok, err)
			}
			// Under the string it holds (see sessionKey): Go's map keeps
			// the string of the latest assignment as the key.
			return s.Commit(k.stored, maybeClone(data, fresh), exp)
		}, func() {}, nil
	}},
}

// BenchmarkPair measures a request's load+save of its session on this
// store and on scs's memstore, serially and from GOMAXPROCS goroutines,
// each store on its own so that the other's heap does not weigh on it:
//
//	go test -run '^$' -bench Pair -benchmem -cpu 1,2 ./memory/
//
// On a VM, pin the serial runs to one CPU (the README's figures were made
// so): unpinned, a whole sub-benchmark of either store now and then runs
// 1.7 times slower.
//
//	go test -c -o /tmp/memory.test ./memory/ && cd memory
//	taskset -c 1 /tmp/memory.test -test.run '^$' -test.bench 'Pair/serial' -test.benchmem -test.cpu 1 -test.count 10
func BenchmarkPair(b *testing.B) {
	ids := make([]string, benchSessions)
	for i := range ids {
		ids[i] = base64.RawURLEncoding.EncodeToString(randomBytes(32)) // 256 bits, as the Manager makes
	}
	data := randomBytes(benchDataSize)
	exp := time.Now().Add(time.Hour)
	lookup := sessionKeys(ids)

	// each runs bench on every store, opening it once for all the runs of
	// its sub-benchmark and releasing it after them.
	each := func(b *testing.B, bench func(b *testing.B, pair func(sessionKey) error)) {
		for _, ps := range pairStores {
			pair, release, err := ps.open(ids, data, exp, false)
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
		each(b, func(b *testing.B, pair func(sessionKey) error) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := pair(lookup[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(ids) {
					i = 0
				}
			}
		})
	})
	b.Run("parallel", func(b *testing.B) {
		each(b, func(b *testing.B, pair func(sessionKey) error) {
			var seed atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine walks the ids from its own random start.
				i := mathrand.New(mathrand.NewPCG(seed.Add(1), 0)).IntN(len(ids))
				for pb.Next() {
					if err := pair(lookup[i]); err != nil {
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

// sessionKey is an id as a request brings it, in memory of its own, and the
// string the store was filled with. Go's map compares a key's pointer before
// its bytes, and an assignment to a key it holds keeps the caller's string as
// the key: scs, committing under the string it was found by, would have its
// next lookup by that same string skip the read of its stored key, which no
// request does (each brings its id afresh, parsed from its cookie). So scs
// commits under stored, which it then compares with the next request's
// string, as it does in a server; the other stores use request throughout.
type sessionKey struct {
	request, stored string
}

func sessionKeys(ids []string) []sessionKey {
	out := make([]sessionKey, len(ids))
	for i, id := range ids {
		out[i] = sessionKey{request: strings.Clone(id), stored: id}
	}
	return out
}

func maybeClone(b []byte, fresh bool) []byte {
	if fresh {
		return clone(b)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// BenchmarkMillions measures the two stores at 1,000,000 live sessions of 200
// bytes, each store on its own: the load+save pair over
// random sessions, each saving a new buffer as the Manager does
// (ns/op), the heap each session costs (heap-B/session), the time of one
// full garbage collection with the store live (gc-ms, and the CPU time it
// took, gc-cpu-ms) and the collector's share of the CPU under that steady
// load (gc-cpu-%):
//
//	go test -run '^$' -bench Millions -benchtime 10000000x -timeout 30m ./memory/
//
// It needs about 1 GB of memory.
func BenchmarkMillions(b *testing.B) {
	const dataSize = 200
	for _, n := range []int{1_000_000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = base64.RawURLEncoding.EncodeToString(randomBytes(32))
		}
		data := randomBytes(dataSize)
		exp := time.Now().Add(time.Hour)
		lookup := sessionKeys(ids)
		for _, ps := range pairStores {
			if ps.name == "memory-swap" {
				continue // the pair again, with a swap
			}
			b.Run(fmt.Sprintf("%dk/%s", n/1000, ps.name), func(b *testing.B) {
				before := heapAfterGC()
				pair, release, err := ps.open(ids, data, exp, true)
				if err != nil {
					b.Fatal(err)
				}
				defer release()
				heap := heapAfterGC() - before
				start, cpu := time.Now(), processCPU()
				runtime.GC()
				gc, gcCPU := time.Since(start), processCPU()-cpu
				rnd := mathrand.New(mathrand.NewPCG(1, 2))
				b.ResetTimer()
				gcBefore := gcCPUSeconds()
				for b.Loop() {
					if err := pair(lookup[rnd.IntN(len(lookup))]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				gcAfter := gcCPUSeconds()
				// The collector's share of the CPU the loop used: its
				// marking of the live sessions, paid again at each cycle
				// the garbage of the saves starts.
				if total := gcAfter.total - gcBefore.total; total > 0 {
					b.ReportMetric(100*(gcAfter.gc-gcBefore.gc)/total, "gc-cpu-%")
				}
				b.ReportMetric(float64(heap)/float64(n), "heap-B/session")
				b.ReportMetric(float64(gc.Microseconds())/1000, "gc-ms")
				// On a busy machine the collection's CPU time says more
				// than its elapsed time.
				b.ReportMetric(float64(gcCPU.Microseconds())/1000, "gc-cpu-ms")
				runtime.KeepAlive(pair)
			})
		}
	}
}

// cpuSeconds is the process's CPU time so far, all of it and the garbage
// collector's, as runtime/metrics estimates them.
type cpuSeconds struct{ total, gc float64 }

func gcCPUSeconds() cpuSeconds {
	ms := []metrics.Sample{{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(ms)
	return cpuSeconds{total: ms[0].Value.Float64(), gc: ms[1].Value.Float64()}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
