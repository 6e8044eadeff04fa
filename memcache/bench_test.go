package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/storetest"
)

// The benchmarks below put one Load + Save pair (what a request that changes
// its session costs) side by side in one run, on one server:
//
//	store:     this package, under context.Background (no goroutine per call)
//	store-ctx: this package, under a context with a deadline (a goroutine per call)
//	raw:       gomemcache Get + Set of the same bytes under the same key
//
// Run them with: go test -run '^$' -bench Pair -benchmem ./memcache/

// pair is one request's worth of session traffic: load the session, save it
// back.
type pair struct {
	name string
	do   func(ctx context.Context, id string) error
}

func pairs(b *testing.B) []pair {
	client, _ := memcachetest.New(b)
	data := make([]byte, 200) // a typical encoded session
	for i := range data {
		data[i] = byte(i)
	}
	prefix := newPrefix(b)
	store := newStore(b, client, memcache.Options{Prefix: prefix + "store:"})
	storePair := func(ctx context.Context, id string) error {
		if _, _, err := store.Load(ctx, id); err != nil {
			return err
		}
		return store.Save(ctx, id, data, time.Now().Add(time.Hour))
	}
	rawPrefix := prefix + "raw:"
	return []pair{
		{"store", storePair},
		{"store-ctx", func(ctx context.Context, id string) error {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return storePair(ctx, id)
		}},
		{"raw", func(_ context.Context, id string) error {
			key := rawPrefix + id
			if _, err := client.Get(key); err != nil && !errors.Is(err, gomemcache.ErrCacheMiss) {
				return err
			}
			return client.Set(&gomemcache.Item{Key: key, Value: data, Expiration: 3600})
		}},
	}
}

// BenchmarkPair compares a Load+Save pair of this store with the raw
// gomemcache Get+Set of the same bytes.
func BenchmarkPair(b *testing.B) {
	ctx := context.Background()
	for _, p := range pairs(b) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.do(ctx, "bench-session-id"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPairParallel is BenchmarkPair with concurrent requests, each
// goroutine on a session of its own.
func BenchmarkPairParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range pairs(b) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("bench-session-id-", n.Add(1))
				for pb.Next() {
					if err := p.do(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPairInterleaved runs every contender's pair in turn within each
// iteration, rotating which goes first, and reports each one's median time
// per pair and its ratio to raw's. On a busy machine, where separate
// benchmarks meet different load, this is the figure to compare: all
// contenders see the same moments, and the median ignores the stalls.
func BenchmarkPairInterleaved(b *testing.B) {
	ctx := context.Background()
	ps := pairs(b)
	b.Run("serial", func(b *testing.B) {
		t := newTimings(len(ps))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := t.round(ctx, ps, i, "interleaved-session-id"); err != nil {
				b.Fatal(err)
			}
		}
		t.report(b, ps)
	})
	b.Run("parallel", func(b *testing.B) {
		t := newTimings(len(ps))
		b.ReportAllocs()
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprint("interleaved-session-id-", n.Add(1))
			for i := 0; pb.Next(); i++ {
				if err := t.round(ctx, ps, i, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		t.report(b, ps)
	})
}

// timings collects the duration of every pair of each contender.
type timings struct {
	mu    sync.Mutex
	spent [][]time.Duration
}

func newTimings(n int) *timings { return &timings{spent: make([][]time.Duration, n)} }

// round runs every contender's pair once on id, starting with the i-th.
func (t *timings) round(ctx context.Context, ps []pair, i int, id string) error {
	for k := range ps {
		c := (i + k) % len(ps)
		start := time.Now()
		if err := ps[c].do(ctx, id); err != nil {
			return err
		}
		d := time.Since(start)
		t.mu.Lock()
		t.spent[c] = append(t.spent[c], d)
		t.mu.Unlock()
	}
	return nil
}

// report reports the median pair time of each contender and its ratio to
// raw's.
func (t *timings) report(b *testing.B, ps []pair) {
	medians := make([]float64, len(ps))
	raw := 0.0
	for c, p := range ps {
		if len(t.spent[c]) == 0 {
			return
		}
		slices.Sort(t.spent[c])
		medians[c] = float64(t.spent[c][len(t.spent[c])/2])
		if p.name == "raw" {
			raw = medians[c]
		}
	}
	for c, p := range ps {
		b.ReportMetric(medians[c], p.name+"-p50-ns/pair")
		if p.name != "raw" {
			b.ReportMetric(medians[c]/raw, p.name+"/raw")
		}
	}
}

// BenchmarkStore runs the suite's benchmarks (Load, Save, pairs) on one
// server.
func BenchmarkStore(b *testing.B) {
	client, _ := memcachetest.New(b)
	storetest.RunBenchmarks(b, harness(client))
}
