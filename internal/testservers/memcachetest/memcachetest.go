// Package memcachetest provides real memcached servers for tests: one server, or three
// behind one client (which shards keys over them), in containers shared by the test binary,
// or the servers SESSIONSTORE_MEMCACHE_ADDRS lists.
//
// The image is SESSIONSTORE_MEMCACHED_IMAGE, else the official memcached:1.6, with its
// default settings (64 MB, 1 MiB item limit). Tests share the servers and isolate
// themselves by key prefix. The package's tests must run through testservers.Main (see
// package testservers).
package memcachetest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

// AddrsEnv names the variable listing existing servers to test against instead of
// containers, comma separated: host1:11211,host2:11211. New uses the first; NewCluster all.
const AddrsEnv = "SESSIONSTORE_MEMCACHE_ADDRS"

// Client settings: gomemcache's defaults (500 ms, 2 idle connections) make parallel tests
// on a loaded machine time out and redial.
const (
	clientTimeout = 2 * time.Second
	maxIdleConns  = 16
)

// spec waits on the driver alone: memcached prints nothing when it starts.
var spec = &testservers.Spec{
	Name:         "memcached",
	ImageEnv:     "SESSIONSTORE_MEMCACHED_IMAGE",
	DefaultImage: "memcached:1.6",
	URLEnv:       AddrsEnv,
	Port:         "11211/tcp",
	Ping:         ping,
}

// ping uses the context's deadline as the client's timeout: gomemcache takes no context.
func ping(ctx context.Context, addr string) error {
	c := memcache.New(addr)
	if d, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(d)
	}
	defer c.Close()
	return c.Ping()
}

// New returns a client of a ready memcached server, and that server. The client is the
// test's own and closes when the test ends; the server is shared by the test binary unless
// testservers.Dedicated is given.
func New(t testing.TB, opts ...testservers.Option) (*memcache.Client, *testservers.Server) {
	t.Helper()
	if addrs := envAddrs(); addrs != nil {
		return newClient(t, addrs[:1]), testservers.External(addrs[0])
	}
	srv := testservers.Start(t, spec, opts...)
	return newClient(t, []string{srv.Addr}), srv
}

// NewWithMemory returns a client of a ready memcached server of the test's own (as with
// testservers.Dedicated) that keeps up to mb megabytes of items (memcached -m) instead of the
// default 64, for a test that must hold more than 64 MB without an eviction: a million
// sessions of a few hundred bytes. With SESSIONSTORE_MEMCACHE_ADDRS set it returns the first
// server listed, whose memory is whatever that server was given.
func NewWithMemory(t testing.TB, mb int) (*memcache.Client, *testservers.Server) {
	t.Helper()
	if addrs := envAddrs(); addrs != nil {
		return newClient(t, addrs[:1]), testservers.External(addrs[0])
	}
	// A spec of its own: the shared server keeps the default every other test expects.
	big := *spec
	big.Name = "memcached-" + strconv.Itoa(mb) + "m"
	big.Cmd = []string{"memcached", "-m", strconv.Itoa(mb)}
	srv := testservers.Start(t, &big, testservers.Dedicated())
	return newClient(t, []string{srv.Addr}), srv
}

// NewCluster returns one client of three ready memcached servers, and the servers, in the
// order the client's server list holds them. They are shared by the test binary unless
// testservers.Dedicated is given (then each is the test's own, for stopping one).
func NewCluster(t testing.TB, opts ...testservers.Option) (*memcache.Client, []*testservers.Server) {
	t.Helper()
	if addrs := envAddrs(); addrs != nil {
		servers := make([]*testservers.Server, len(addrs))
		for i, a := range addrs {
			servers[i] = testservers.External(a)
		}
		return newClient(t, addrs), servers
	}
	servers := testservers.StartGroup(t, spec, 3, nil, opts...)
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.Addr
	}
	return newClient(t, addrs), servers
}

func envAddrs() []string {
	v := os.Getenv(AddrsEnv)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func newClient(t testing.TB, addrs []string) *memcache.Client {
	c := memcache.New(addrs...)
	c.Timeout = clientTimeout
	c.MaxIdleConns = maxIdleConns
	t.Cleanup(func() { c.Close() })
	return c
}
