package encrypt_test

import (
	"log/slog"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
	"github.com/sessionstore/sessionstore/storetest"
)

// maxDataSize is each backend's default maximum, as backendtest opens it.
var maxDataSize = map[string]int{
	"memory":   memory.DefaultMaxDataSize,
	"redis":    redis.DefaultMaxDataSize,
	"postgres": postgres.DefaultMaxDataSize,
	"mongo":    mongo.DefaultMaxDataSize,
	"memcache": memcache.DefaultMaxDataSize,
	"mysql":    mysql.DefaultMaxDataSize,
	"sqlite":   sqlite.DefaultMaxDataSize,
}

// quietLogger drops the warnings of tests that provoke them on purpose.
var quietLogger = slog.New(slog.DiscardHandler)

// ring returns a ring of two keys; the primary's id is longer than one
// character, so that Overhead is not its smallest case.
func ring(t testing.TB) *encrypt.Keys {
	return mustKeys(t, keyText(t, "2026-11"), keyText(t, "2026-05"))
}

func mustEncrypt(t testing.TB, inner sessionstore.Store, keys *encrypt.Keys) sessionstore.Store {
	t.Helper()
	s, err := encrypt.New(inner, keys, encrypt.Options{Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the whole conformance suite over an encrypted store
// on every backend, each on its real server in a container. The maximum
// the suite checks is the backend's minus the sealing overhead.
func TestConformance(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel() // the backends side by side: the suite mostly waits for them
			keys := ring(t)
			var opener reopen.Opener
			seal := func(t testing.TB, inner sessionstore.Store) sessionstore.Store { return mustEncrypt(t, inner, keys) }
			h := storetest.Harness{
				NewStore: func(t testing.TB) sessionstore.Store {
					inner := b.NewStore(t)
					return opener.Wrapped(seal(t, inner), inner, b.OpenAgain, seal)
				},
				OpenAgain:   opener.OpenAgain,
				MaxDataSize: maxDataSize[b.Name] - keys.Overhead(),
			}
			// Rule 8 through the wrapper, on a store that cannot serve: a
			// closed memory store, and Redis at an address nothing answers.
			switch b.Name {
			case "memory":
				h.NewUnreachableStore = func(t testing.TB) sessionstore.Store {
					inner := memory.New(memory.Options{})
					inner.Close()
					return mustEncrypt(t, inner, keys)
				}
			case "redis":
				h.NewUnreachableStore = func(t testing.TB) sessionstore.Store {
					c := goredis.NewClient(&goredis.Options{Addr: testservers.ClosedAddr(t), ContextTimeoutEnabled: true})
					t.Cleanup(func() { c.Close() })
					inner, err := redis.New(c, redis.Options{})
					if err != nil {
						t.Fatal(err)
					}
					return mustEncrypt(t, inner, keys)
				}
			}
			storetest.Run(t, h)
		})
	}
}
