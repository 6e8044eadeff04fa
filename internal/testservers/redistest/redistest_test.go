package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSmoke writes and reads a key through go-redis, so that a broken image fails here first.
func TestSmoke(t *testing.T) {
	t.Parallel()
	c, srv := redistest.New(t)
	ctx := t.Context()
	if err := c.Set(ctx, "redistest:smoke", "v\x00", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "redistest:smoke").Result()
	if err != nil || got != "v\x00" {
		t.Fatalf("read %q, %v from %s; want %q", got, err, srv.Addr, "v\x00")
	}
}

// TestShared checks that two calls share one server and a dedicated call does not.
func TestShared(t *testing.T) {
	t.Parallel()
	_, a := redistest.New(t)
	_, b := redistest.New(t)
	_, d := redistest.New(t, testservers.Dedicated())
	if a.Addr != b.Addr {
		t.Errorf("shared servers at %s and %s", a.Addr, b.Addr)
	}
	if d.Addr == a.Addr {
		t.Errorf("dedicated server at the shared address %s", d.Addr)
	}
}

// TestCluster writes keys over many slots and finds them on all three masters, and runs a
// Lua script through the cluster client.
func TestCluster(t *testing.T) {
	t.Parallel()
	c, servers := redistest.NewCluster(t)
	if len(servers) != 3 {
		t.Fatalf("%d servers, want 3", len(servers))
	}
	ctx := t.Context()
	const n = 300
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("redistest:cluster:%d", i), i, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Get(ctx, "redistest:cluster:7").Result()
	if err != nil || got != "7" {
		t.Fatalf("read %q, %v; want 7", got, err)
	}

	// ForEachMaster calls fn on the masters concurrently.
	var masters, found atomic.Int64
	err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		keys, err := m.Keys(ctx, "redistest:cluster:*").Result()
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("master %s holds none of the keys", m.Options().Addr)
		}
		masters.Add(1)
		found.Add(int64(len(keys)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if masters.Load() != 3 || found.Load() != n {
		t.Fatalf("%d masters hold %d keys, want 3 holding %d", masters.Load(), found.Load(), n)
	}

	incr := redis.NewScript(`return redis.call("INCRBY", KEYS[1], ARGV[1])`)
	if v, err := incr.Run(ctx, c, []string{"redistest:cluster:7"}, 3).Int(); err != nil || v != 10 {
		t.Fatalf("script returned %d, %v; want 10", v, err)
	}
}

// TestStopStart checks that a dedicated server refuses connections while stopped and
// answers again at the same address after Start.
func TestStopStart(t *testing.T) {
	t.Parallel()
	c, srv := redistest.New(t, testservers.Dedicated())
	addr := srv.Addr
	srv.Stop(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping of a stopped server succeeded")
	}
	srv.Start(t)
	if srv.Addr != addr {
		t.Fatalf("address changed from %s to %s", addr, srv.Addr)
	}
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
}

// TestPause checks that a paused server hangs until the client's deadline, then answers
// again after Unpause.
func TestPause(t *testing.T) {
	t.Parallel()
	c, srv := redistest.New(t, testservers.Dedicated())
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx).Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping of a paused server: %v, want a deadline error", err)
	}
	srv.Unpause(t)
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping after Unpause: %v", err)
	}
}
