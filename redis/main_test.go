package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// newClient returns a client of the Redis server shared by the tests,
// configured as the package doc advises.
func newClient(t testing.TB, opts ...testservers.Option) (*goredis.Client, *testservers.Server) {
	t.Helper()
	c, srv := redistest.New(t, opts...)
	o := *c.Options()
	o.ContextTimeoutEnabled = true
	c = goredis.NewClient(&o)
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// newCluster returns a client of the 3-master Redis Cluster shared by the
// tests, configured as the package doc advises, and a client of each master.
func newCluster(t testing.TB) (*goredis.ClusterClient, []goredis.UniversalClient) {
	t.Helper()
	c, servers := redistest.NewCluster(t)
	o := *c.Options()
	o.ContextTimeoutEnabled = true
	c = goredis.NewClusterClient(&o)
	t.Cleanup(func() { c.Close() })
	nodes := make([]goredis.UniversalClient, len(servers))
	for i, s := range servers {
		n := goredis.NewClient(&goredis.Options{Addr: s.Addr})
		t.Cleanup(func() { n.Close() })
		nodes[i] = n
	}
	return c, nodes
}
