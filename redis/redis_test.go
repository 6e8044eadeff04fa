package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/redis"
)

// newPrefix returns a key prefix no other store of this test run uses.
func newPrefix(t testing.TB) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "sessionstore-test:" + hex.EncodeToString(b) + ":"
}

// newStore returns a Store with a fresh prefix over client, and removes its
// keys when the test ends (the server may be shared, or one the user named).
func newStore(t testing.TB, client goredis.UniversalClient, opts redis.Options) *redis.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = newPrefix(t)
	}
	s, err := redis.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, k := range keysUnder(t, client, opts.Prefix) {
			client.Del(context.Background(), k)
		}
	})
	return s
}

// keysUnder returns every key starting with prefix, on every master.
func keysUnder(t testing.TB, client goredis.UniversalClient, prefix string) []string {
	t.Helper()
	var keys []string
	ctx := context.Background()
	scan := func(c goredis.Cmdable) error {
		iter := c.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			if k := iter.Val(); strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := client.(*goredis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			nodes []*goredis.Client
		)
		err = cc.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
			mu.Lock() // ForEachMaster runs fn concurrently
			defer mu.Unlock()
			nodes = append(nodes, c)
			return nil
		})
		for _, n := range nodes {
			if err == nil {
				err = scan(n)
			}
		}
	} else {
		err = scan(client)
	}
	if err != nil {
		t.Errorf("scanning keys: %v", err)
	}
	return keys
}

func TestNewRejectsBadArguments(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: testservers.ClosedAddr(t)})
	defer client.Close()
	for name, tc := range map[string]struct {
		client goredis.UniversalClient
		opts   redis.Options
	}{
		"nil client":           {nil, redis.Options{}},
		"negative MaxDataSize": {client, redis.Options{MaxDataSize: -1}},
		"negative ScanCount":   {client, redis.Options{ScanCount: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := redis.New(tc.client, tc.opts)
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
			if !strings.HasPrefix(err.Error(), "redis: new: ") {
				t.Errorf("error %q does not name the package and operation", err)
			}
		})
	}
}

// testKeyLayout checks what the package doc promises about keys: one key
// per session, prefix + id, holding the header and the data, whose Redis
// expiry is the exact millisecond given, and that no key ever lacks a TTL.
func testKeyLayout(t *testing.T, client goredis.UniversalClient) {
	ctx := context.Background()

	t.Run("OneKeyPrefixPlusID", func(t *testing.T) {
		t.Parallel()
		prefix := newPrefix(t)
		s := newStore(t, client, redis.Options{Prefix: prefix})
		id := "a{b}*?[c]\x00\xff id"
		expiry := time.Now().Add(time.Hour)
		if err := s.Save(ctx, id, []byte("data"), expiry); err != nil {
			t.Fatal(err)
		}
		keys := keysUnder(t, client, prefix)
		if len(keys) != 1 || keys[0] != prefix+id {
			t.Fatalf("keys = %q, want [%q]", keys, prefix+id)
		}
		val, err := client.Get(ctx, prefix+id).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if len(val) != 16+4 || !bytes.HasSuffix(val, []byte("data")) {
			t.Errorf("value = %x, want a 16-byte header then the data", val)
		}
	})

	t.Run("ExpiryIsExactMillisecond", func(t *testing.T) {
		t.Parallel()
		prefix := newPrefix(t)
		s := newStore(t, client, redis.Options{Prefix: prefix})
		expiry := time.Now().Add(90 * time.Minute).Truncate(time.Millisecond).Add(123 * time.Microsecond)
		want := expiry.UnixMilli()
		if err := s.Save(ctx, "id", []byte("x"), expiry); err != nil {
			t.Fatal(err)
		}
		if got := pexpiretime(t, client, prefix+"id"); got != want {
			t.Errorf("after Save: key expires at %d ms, want %d", got, want)
		}
		expiry = expiry.Add(17*time.Hour + 5*time.Millisecond)
		want = expiry.UnixMilli()
		if ok, err := s.Touch(ctx, "id", expiry); !ok || err != nil {
			t.Fatalf("Touch = %v, %v", ok, err)
		}
		if got := pexpiretime(t, client, prefix+"id"); got != want {
			t.Errorf("after Touch: key expires at %d ms, want %d", got, want)
		}
		rec, ok, err := s.Load(ctx, "id")
		if !ok || err != nil || rec.Expiry.UnixMilli() != want || string(rec.Data) != "x" {
			t.Errorf("Load after Touch = %+v, %v, %v; want data x expiring at %d ms", rec, ok, err, want)
		}
	})

	t.Run("NoKeyWithoutTTL", func(t *testing.T) {
		t.Parallel()
		prefix := newPrefix(t)
		s := newStore(t, client, redis.Options{Prefix: prefix})
		now := time.Now()
		past, soon, later := now.Add(-time.Second), now.Add(time.Hour), now.Add(2*time.Hour)
		zero := time.Time{}
		steps := []struct {
			name string
			do   func() error
		}{
			{"save live", func() error { return s.Save(ctx, "live", []byte("1"), soon) }},
			{"save past new", func() error { return s.Save(ctx, "past-new", []byte("1"), past) }},
			{"save zero new", func() error { return s.Save(ctx, "zero-new", []byte("1"), zero) }},
			{"save then past", func() error {
				if err := s.Save(ctx, "save-past", []byte("1"), soon); err != nil {
					return err
				}
				return s.Save(ctx, "save-past", []byte("2"), past)
			}},
			{"touch live", func() error { _, err := s.Touch(ctx, "live", later); return err }},
			{"touch missing", func() error { _, err := s.Touch(ctx, "missing", later); return err }},
			{"touch to past", func() error {
				if err := s.Save(ctx, "touch-past", []byte("1"), soon); err != nil {
					return err
				}
				_, err := s.Touch(ctx, "touch-past", past)
				return err
			}},
			{"cas new", func() error { _, err := s.CompareAndSwap(ctx, "cas", 0, []byte("1"), soon); return err }},
			{"cas new past", func() error { _, err := s.CompareAndSwap(ctx, "cas-past", 0, []byte("1"), past); return err }},
			{"cas to past", func() error {
				rec, _, err := s.Load(ctx, "cas")
				if err != nil {
					return err
				}
				_, err = s.CompareAndSwap(ctx, "cas", rec.Version, []byte("2"), past)
				return err
			}},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		keys := keysUnder(t, client, prefix)
		if len(keys) != 1 || keys[0] != prefix+"live" {
			t.Errorf("keys left = %q, want only %q", keys, prefix+"live")
		}
		for _, k := range keys {
			if ttl := client.PTTL(ctx, k).Val(); ttl <= 0 {
				t.Errorf("key %q has PTTL %v", k, ttl)
			}
		}
	})

	t.Run("GlobCharactersInPrefix", func(t *testing.T) {
		t.Parallel()
		base := newPrefix(t)
		// Unescaped, the pattern of "p*:" would match the keys of "px:",
		// and "[px]:" would match "p:".
		stores := map[string]*redis.Store{}
		for _, p := range []string{"p*:", "px:", "p?:", "[px]:", "p:", `p\:`} {
			stores[p] = newStore(t, client, redis.Options{Prefix: base + p})
			if err := stores[p].Save(ctx, "id-of-"+p, []byte(p), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		for p, s := range stores {
			var ids []string
			if err := s.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
				ids = append(ids, id)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != "id-of-"+p {
				t.Errorf("store %q iterates %q, want only its own id", p, ids)
			}
			if n, err := s.Count(ctx); n != 1 || err != nil {
				t.Errorf("store %q Count = %d, %v; want 1", p, n, err)
			}
		}
	})

	t.Run("ForeignValueIsAnError", func(t *testing.T) {
		t.Parallel()
		prefix := newPrefix(t)
		s := newStore(t, client, redis.Options{Prefix: prefix})
		client.Set(ctx, prefix+"foreign", "short", time.Hour)
		_, ok, err := s.Load(ctx, "foreign")
		if err == nil || ok {
			t.Errorf("Load of a foreign value = %v, %v; want an error", ok, err)
		}
		if err := s.Iterate(ctx, func(string, sessionstore.Record) bool { return true }); err == nil {
			t.Error("Iterate over a foreign value: no error")
		}
	})

	t.Run("OneRoundTripEach", func(t *testing.T) {
		t.Parallel()
		client := cloneClient(t, client) // the hook below must count this test's commands only
		s := newStore(t, client, redis.Options{})
		loadScripts(t, s)
		var n atomic.Int64
		client.AddHook(countHook{&n})
		expiry := time.Now().Add(time.Hour)
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"Save", func() error { return s.Save(ctx, "id", []byte("d"), expiry) }},
			{"Load", func() error { _, _, err := s.Load(ctx, "id"); return err }},
			{"Touch", func() error { _, err := s.Touch(ctx, "id", expiry.Add(time.Minute)); return err }},
			{"CompareAndSwap", func() error { _, err := s.CompareAndSwap(ctx, "id", 1, []byte("e"), expiry); return err }},
			{"Delete", func() error { return s.Delete(ctx, "id") }},
			{"Save in the past", func() error { return s.Save(ctx, "id", []byte("d"), time.Now().Add(-time.Hour)) }},
		} {
			n.Store(0)
			if err := op.do(); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%s sent %d commands, want 1", op.name, got)
			}
		}
	})
}

// loadScripts runs Touch and CompareAndSwap once on an id of each master, so
// that every server has the scripts cached.
func loadScripts(t *testing.T, s *redis.Store) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 64; i++ { // 64 random ids reach every one of 3 masters
		id := fmt.Sprint("warm", i)
		if _, err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompareAndSwap(ctx, id, 1, nil, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

// cloneClient returns a new client of the servers of client.
func cloneClient(t *testing.T, client goredis.UniversalClient) goredis.UniversalClient {
	t.Helper()
	switch client := client.(type) {
	case *goredis.Client:
		return clientLike(t, client.Options())
	case *goredis.ClusterClient:
		return clusterLike(t, client.Options())
	}
	t.Fatalf("cannot clone a %T", client)
	return nil
}

// countHook counts the commands a client sends, pipelined ones included.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func pexpiretime(t *testing.T, client goredis.UniversalClient, key string) int64 {
	t.Helper()
	ms, err := client.Do(context.Background(), "pexpiretime", key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestKeyLayout(t *testing.T) {
	t.Parallel()
	client, _ := newClient(t)
	testKeyLayout(t, client)
}

func TestKeyLayoutCluster(t *testing.T) {
	t.Parallel()
	client, _ := newCluster(t)
	testKeyLayout(t, client)
}

func TestSpreadCluster(t *testing.T) {
	t.Parallel()
	client, nodes := newCluster(t)
	testSpread(t, client, nodes)
}

// TestSpreadRing runs a Ring over the shared server and one of its own.
func TestSpreadRing(t *testing.T) {
	t.Parallel()
	a, srvA := newClient(t)
	b, srvB := newClient(t, testservers.Dedicated())
	if srvA.Addr == srvB.Addr {
		t.Skip("a Ring needs two servers; SESSIONSTORE_REDIS_URL names one")
	}
	ring := goredis.NewRing(&goredis.RingOptions{
		Addrs:                 map[string]string{"a": srvA.Addr, "b": srvB.Addr},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { ring.Close() })
	testSpread(t, ring, []goredis.UniversalClient{a, b})
}

// testSpread saves sessions through client and checks that they landed on
// every node, and that Iterate and Count find each one exactly once: they
// must walk every master of a Cluster, every shard of a Ring.
func testSpread(t *testing.T, client goredis.UniversalClient, nodes []goredis.UniversalClient) {
	ctx := context.Background()
	prefix := newPrefix(t)
	s := newStore(t, client, redis.Options{Prefix: prefix, ScanCount: 7}) // several SCAN batches per node
	const n = 90
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprint("spread-", i)
		want[id] = true
		if err := s.Save(ctx, id, []byte(id), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Touch and CompareAndSwap run as scripts on the key's own node.
		if ok, err := s.Touch(ctx, id, time.Now().Add(2*time.Hour)); !ok || err != nil {
			t.Fatalf("Touch(%s) = %v, %v", id, ok, err)
		}
	}
	for i, node := range nodes {
		if keys := keysUnder(t, node, prefix); len(keys) == 0 {
			t.Errorf("node %d holds none of the %d sessions", i, n)
		}
	}
	seen := map[string]int{}
	err := s.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		seen[id]++
		if string(rec.Data) != id {
			t.Errorf("Iterate: %s has data %q", id, rec.Data)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("Iterate visited %s %d times, want once", id, seen[id])
		}
	}
	if len(seen) != n {
		t.Errorf("Iterate visited %d ids, want %d", len(seen), n)
	}
	if got, err := s.Count(ctx); got != n || err != nil {
		t.Errorf("Count = %d, %v; want %d", got, err, n)
	}
	visits := 0
	if err := s.Iterate(ctx, func(string, sessionstore.Record) bool { visits++; return visits < 5 }); err != nil || visits != 5 {
		t.Errorf("Iterate stopped by fn after %d visits (err %v), want 5", visits, err)
	}
}
