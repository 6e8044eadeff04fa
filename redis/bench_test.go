package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore/redis"
)

// pair is one request's worth of session traffic: load the session, save it
// back. Each contender stores the same 200 bytes (a typical encoded session)
// on the same server.
type pair struct {
	name string
	do   func(ctx context.Context, id string) error
}

func pairs(b *testing.B) []pair {
	client, _ := newClient(b)
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i)
	}
	prefix := newPrefix(b)
	store, err := redis.New(client, redis.Options{Prefix: prefix + "store:"})
	if err != nil {
		b.Fatal(err)
	}
	scs := goredisstore.NewWithPrefix(client, prefix+"scs:")
	rawPrefix := prefix + "raw:"
	return []pair{
		{"store", func(ctx context.Context, id string) error {
			if _, _, err := store.Load(ctx, id); err != nil {
				return err
			}
			return store.Save(ctx, id, data, time.Now().Add(time.Hour))
		}},
		{"raw", func(ctx context.Context, id string) error {
			if _, err := client.Get(ctx, rawPrefix+id).Bytes(); err != nil && err != goredis.Nil {
				return err
			}
			return client.Set(ctx, rawPrefix+id, data, time.Hour).Err()
		}},
		{"scs", func(ctx context.Context, id string) error {
			if _, _, err := scs.FindCtx(ctx, id); err != nil {
				return err
			}
			return scs.CommitCtx(ctx, id, data, time.Now().Add(time.Hour))
		}},
	}
}

// BenchmarkPair compares a Load+Save pair of this store with the raw go-redis
// GET+SET of the same bytes and with scs's goredisstore Find+Commit:
//
//	go test -run '^$' -bench Pair -benchmem ./redis/
func BenchmarkPair(b *testing.B) {
	ctx := context.Background()
	for _, p := range pairs(b) {
		b.Run(p.name, func(b *testing.B) {
			defer reportMetrics(b)()
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
			defer reportMetrics(b)()
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

// reportMetrics turns on allocation reporting; the function it returns,
// deferred, reports the CPU time the process spent per operation, which
// shows the client-side cost of each contender even when the wall time is
// dominated by round trips or by other load on the machine.
func reportMetrics(b *testing.B) func() {
	b.ReportAllocs()
	start := processCPU()
	return func() {
		if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
