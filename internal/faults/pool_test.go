package faults_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// 200 requests at once against a pool of 4 connections: requests queue for
// a connection, and that queue is bounded by each request's deadline, never
// by a pool timeout of the driver's or a hang. With the link's round trip
// added (latency), the figures show the pool size a user needs: a request
// of this app makes two round trips (Load, CompareAndSwap), so a pool of P
// connections serves about P / (2 × round trip) requests a second.
func TestPoolExhaustion(t *testing.T) {
	// Not in parallel with other tests: the figures are latencies.
	if testing.Short() {
		t.Skip("sends bursts of 200 requests")
	}
	const requests = 200
	cases := []struct {
		pool    int
		latency int // ms added to every answer
	}{{4, 0}, {4, 10}, {32, 10}}
	for _, tg := range []target{redisTarget, postgresTarget, mysqlTarget} {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			upstream, conns := tg.server(t)
			for _, c := range cases {
				t.Run(fmt.Sprintf("pool %d latency %dms", c.pool, c.latency), func(t *testing.T) {
					l := newLink(t, upstream)
					name := unique("app")
					st, closeStore := tg.open(t, l.addr, nil, name, c.pool)
					defer closeStore()
					a := newApp(t, st, linkDeadline)
					defer a.close()
					cookies := make([]string, requests)
					for i := range cookies {
						cookies[i] = a.seed(t)
					}
					if c.latency > 0 {
						l.add(t, toxic{Type: "latency", Stream: "downstream", Attrs: map[string]int{"latency": c.latency}})
					}
					replies := make([]reply, requests)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range replies {
						wg.Go(func() {
							<-start
							replies[i] = a.get("/inc", cookies[i])
						})
					}
					began := time.Now()
					close(start)
					wg.Wait()
					all := time.Since(began)

					failed := 0
					took := make([]time.Duration, 0, requests)
					for _, rp := range replies {
						took = append(took, rp.took)
						if !rp.ok() {
							failed++
						}
						if rp.took > linkDeadline+linkSlack {
							t.Errorf("a request took %v, past its %v deadline: %d %q %v", rp.took, linkDeadline, rp.status, rp.body, rp.err)
						}
					}
					slices.Sort(took)
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					n, _, err := conns(ctx, name)
					if err != nil {
						t.Fatalf("counting server connections: %v", err)
					}
					if n > c.pool {
						t.Errorf("the server holds %d connections of a pool of %d", n, c.pool)
					}
					t.Logf("| %s | %d | %d ms | %d | %d | %v | %v | %v | %v |", tg.name, c.pool, c.latency, requests, failed,
						took[requests/2].Round(time.Millisecond), took[requests*99/100].Round(time.Millisecond),
						took[requests-1].Round(time.Millisecond), all.Round(time.Millisecond))
				})
			}
		})
	}
}
