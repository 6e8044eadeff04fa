package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/pairbench"
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
type pair = pairbench.Contender

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
		{Name: "store", Pair: storePair},
		{Name: "store-ctx", Pair: func(ctx context.Context, id string) error {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return storePair(ctx, id)
		}},
		{Name: "raw", Pair: func(_ context.Context, id string) error {
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
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Pair(ctx, "bench-session-id"); err != nil {
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
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("bench-session-id-", n.Add(1))
				for pb.Next() {
					if err := p.Pair(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPairInterleaved runs every contender's pair in turn within each
// iteration and reports medians and ratios to raw (see internal/pairbench).
func BenchmarkPairInterleaved(b *testing.B) { pairbench.Interleaved(b, pairs(b)) }

// BenchmarkStore runs the suite's benchmarks (Load, Save, pairs) on one
// server.
func BenchmarkStore(b *testing.B) {
	client, _ := memcachetest.New(b)
	storetest.RunBenchmarks(b, harness(client))
}
