package redis_test

// TEMPORARY: replaced by internal/testservers/redistest once it lands.

import (
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

func newClient(t testing.TB) goredis.UniversalClient {
	opt, err := goredis.ParseURL(os.Getenv("SESSIONSTORE_REDIS_URL"))
	if err != nil {
		t.Skip(err)
	}
	opt.ContextTimeoutEnabled = true
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func newCluster(t testing.TB) goredis.UniversalClient {
	addrs := os.Getenv("SESSIONSTORE_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		t.Skip("no cluster")
	}
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}
