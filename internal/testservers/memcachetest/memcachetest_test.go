package memcachetest_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSmoke writes and reads an item through gomemcache, so that a broken image fails here
// first.
func TestSmoke(t *testing.T) {
	t.Parallel()
	c, srv := memcachetest.New(t)
	if err := c.Set(&memcache.Item{Key: "memcachetest:smoke", Value: []byte("v\x00"), Expiration: 60}); err != nil {
		t.Fatal(err)
	}
	it, err := c.Get("memcachetest:smoke")
	if err != nil || string(it.Value) != "v\x00" {
		t.Fatalf("read %v, %v from %s", it, err, srv.Addr)
	}
}

// TestCluster checks that the client spreads keys over three distinct servers and reads
// them all back.
func TestCluster(t *testing.T) {
	t.Parallel()
	c, servers := memcachetest.NewCluster(t)
	if len(servers) != 3 {
		t.Fatalf("%d servers, want 3", len(servers))
	}
	const n = 90
	for i := range n {
		if err := c.Set(&memcache.Item{Key: fmt.Sprintf("memcachetest:cluster:%d", i), Value: []byte{byte(i)}, Expiration: 60}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		it, err := c.Get(fmt.Sprintf("memcachetest:cluster:%d", i))
		if err != nil || it.Value[0] != byte(i) {
			t.Fatalf("key %d: %v, %v", i, it, err)
		}
	}
	// Each server, asked alone, holds some of the keys and not all of them.
	for _, s := range servers {
		one := memcache.New(s.Addr)
		t.Cleanup(func() { one.Close() })
		held := 0
		for i := range n {
			if _, err := one.Get(fmt.Sprintf("memcachetest:cluster:%d", i)); err == nil {
				held++
			}
		}
		if held == 0 || held == n {
			t.Errorf("server %s holds %d of %d keys", s.Addr, held, n)
		}
	}
}

// TestDedicatedCluster checks that a dedicated cluster's node can be stopped and started
// again at the same address.
func TestDedicatedCluster(t *testing.T) {
	t.Parallel()
	c, servers := memcachetest.NewCluster(t, testservers.Dedicated())
	_, shared := memcachetest.NewCluster(t)
	for i := range servers {
		if servers[i].Addr == shared[i].Addr {
			t.Fatalf("dedicated node at the shared address %s", servers[i].Addr)
		}
	}
	addr := servers[1].Addr
	servers[1].Stop(t)
	if err := c.Ping(); err == nil {
		t.Fatal("ping with a node stopped succeeded")
	}
	servers[1].Start(t)
	if servers[1].Addr != addr {
		t.Fatalf("address changed from %s to %s", addr, servers[1].Addr)
	}
	if err := c.Ping(); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
}

// TestWithMemory checks that NewWithMemory's server was given the memory asked for, while the
// shared server keeps memcached's default.
func TestWithMemory(t *testing.T) {
	t.Parallel()
	if os.Getenv(memcachetest.AddrsEnv) != "" {
		t.Skip("servers of " + memcachetest.AddrsEnv + " keep their own settings")
	}
	_, big := memcachetest.NewWithMemory(t, 128)
	_, shared := memcachetest.New(t)
	for _, c := range []struct {
		srv  *testservers.Server
		want string
	}{{big, fmt.Sprint(128 << 20)}, {shared, fmt.Sprint(64 << 20)}} {
		if got := limitMaxBytes(t, c.srv.Addr); got != c.want {
			t.Errorf("server %s: limit_maxbytes %s, want %s", c.srv.Addr, got, c.want)
		}
	}
}

// limitMaxBytes asks the server at addr for its item memory limit (limit_maxbytes of `stats`),
// which gomemcache has no call for.
func limitMaxBytes(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "STAT" && f[1] == "limit_maxbytes" {
			return f[2]
		}
		if sc.Text() == "END" {
			break
		}
	}
	t.Fatalf("no limit_maxbytes in the stats of %s: %v", addr, sc.Err())
	return ""
}
