package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/storetest"
)

// harness runs the conformance suite over client, each store under a prefix
// of its own.
func harness(client goredis.UniversalClient) storetest.Harness {
	base := newPrefix(nil) // the same for every name of a run
	var opener reopen.Opener
	return storetest.Harness{
		// Keys are prefix+id: the package doc asks for prefixes of which
		// neither is a prefix of the other, so NestedNames is false.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			return newStore(t, client, redis.Options{Prefix: base + name})
		},
		NewStore: func(t testing.TB) sessionstore.Store {
			opts := redis.Options{Prefix: newPrefix(t)}
			return opener.Track(newStore(t, client, opts), func(t testing.TB) sessionstore.Store {
				s, err := redis.New(client, opts) // another client's store on the same keys
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		},
		OpenAgain:       opener.OpenAgain,
		MaxDataSize:     redis.DefaultMaxDataSize,
		ExpiryPrecision: 0, // Load checks the expiry itself
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			c := goredis.NewClient(&goredis.Options{Addr: testservers.ClosedAddr(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { c.Close() })
			s, err := redis.New(c, redis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	client, _ := newClient(t)
	storetest.Run(t, harness(client))
}

func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	client, _ := newCluster(t)
	storetest.Run(t, harness(client))
}

// BenchmarkStore runs the suite's benchmarks (Load, Save, pairs) on one server.
func BenchmarkStore(b *testing.B) {
	client, _ := newClient(b)
	storetest.RunBenchmarks(b, harness(client))
}
