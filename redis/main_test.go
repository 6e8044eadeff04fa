package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// newClient returns a client of the Redis server shared by the tests (or
// of a server of its own, with testservers.Dedicated), configured as the
// package doc advises, and the server.
func newClient(t testing.TB, opts ...testservers.Option) (*goredis.Client, *testservers.Server) {
	t.Helper()
	c, srv := redistest.New(t, opts...)
	return clientLike(t, c.Options()), srv
}

// newCluster returns a client of the 3-master Redis Cluster shared by the
// tests, configured as the package doc advises, and a client of each master.
func newCluster(t testing.TB) (*goredis.ClusterClient, []goredis.UniversalClient) {
	t.Helper()
	c, servers := redistest.NewCluster(t)
	nodes := make([]goredis.UniversalClient, len(servers))
	for i, s := range servers {
		nodes[i] = clientLike(t, &goredis.Options{Addr: s.Addr})
	}
	return clusterLike(t, c.Options()), nodes
}

// clientLike returns a new client of the server o names, with context
// timeouts enabled, closed when the test ends. It copies only the fields
// that say where and who: a whole Options value carries state of the client
// it came from.
func clientLike(t testing.TB, o *goredis.Options) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr:                  o.Addr,
		Dialer:                o.Dialer,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		TLSConfig:             o.TLSConfig,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// clusterLike is clientLike for a Cluster.
func clusterLike(t testing.TB, o *goredis.ClusterOptions) *goredis.ClusterClient {
	c := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 o.Addrs,
		Dialer:                o.Dialer,
		Username:              o.Username,
		Password:              o.Password,
		TLSConfig:             o.TLSConfig,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}
