// Package backendtest opens a fresh store of every backend of this module,
// each over its real server in a container (see internal/testservers), or
// for SQLite over a database file in the test's temporary directory, so
// that tests and benchmarks above the Store contract — the scs and gorilla
// adapters, the side-by-side backend benchmark — run the same way on all of
// them. A test package that uses it must call testservers.Main from its
// TestMain.
package backendtest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
)

// Backend names one backend and opens stores of it.
type Backend struct {
	// Name is the backend's package name: memory, redis, postgres, mongo,
	// memcache, sqlite.
	Name string

	// NewStore returns a new, empty store isolated from every other store it
	// returned (its own prefix, table or collection), removed when t ends.
	NewStore func(t testing.TB) sessionstore.Store
}

// All returns every backend, the in-memory one first.
func All() []Backend {
	return []Backend{
		{Name: "memory", NewStore: newMemory},
		{Name: "redis", NewStore: newRedis},
		{Name: "postgres", NewStore: newPostgres},
		{Name: "mongo", NewStore: newMongo},
		{Name: "memcache", NewStore: newMemcache},
		{Name: "sqlite", NewStore: newSQLite},
	}
}

// WithCluster returns All with a Redis Cluster of three masters after the
// single Redis server, for tests whose promise must hold where keys of one
// session and its renewal land on different nodes.
func WithCluster() []Backend {
	all := All()
	return append(all[:2:2], append([]Backend{{Name: "redis-cluster", NewStore: newRedisCluster}}, all[2:]...)...)
}

// unique returns a name no other store of this run uses: a prefix, table or
// collection name made of lower-case letters and digits.
func unique(base string) string {
	return base + "_" + rand.Text()[:10]
}

func fatalIf(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("backendtest: %s: %v", what, err)
	}
}

func newMemory(t testing.TB) sessionstore.Store {
	s := memory.New(memory.Options{})
	t.Cleanup(func() { s.Close() })
	return s
}

func newRedis(t testing.TB) sessionstore.Store {
	t.Helper()
	client, _ := redistest.New(t)
	prefix := unique("session") + ":"
	s, err := redis.New(client, redis.Options{Prefix: prefix})
	fatalIf(t, "redis.New", err)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := client.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})
	return s
}

func newRedisCluster(t testing.TB) sessionstore.Store {
	t.Helper()
	client, _ := redistest.NewCluster(t)
	prefix := unique("session") + ":"
	s, err := redis.New(client, redis.Options{Prefix: prefix})
	fatalIf(t, "redis.New over a cluster", err)
	t.Cleanup(func() {
		ctx := context.Background()
		client.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			keys, _ := node.Keys(ctx, prefix+"*").Result()
			for _, k := range keys {
				node.Del(ctx, k)
			}
			return nil
		})
	})
	return s
}

func newPostgres(t testing.TB) sessionstore.Store {
	t.Helper()
	pool, _ := pgtest.New(t)
	table := unique("sessions")
	s, err := postgres.New(pool, postgres.Options{Table: table, CleanupInterval: -1})
	fatalIf(t, "postgres.New", err)
	fatalIf(t, "postgres CreateTable", s.CreateTable(context.Background()))
	t.Cleanup(func() {
		s.Close()
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
	})
	return s
}

func newMongo(t testing.TB) sessionstore.Store {
	t.Helper()
	db, _ := mongotest.New(t)
	s, err := mongo.New(db, mongo.Options{
		Collection: unique("sessions"),
		Logger:     slog.New(slog.DiscardHandler), // the TTL fallback notice is expected here
	})
	fatalIf(t, "mongo.New", err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fatalIf(t, "mongo EnsureIndexes", s.EnsureIndexes(ctx))
	t.Cleanup(func() { s.Close() })
	return s
}

func newMemcache(t testing.TB) sessionstore.Store {
	t.Helper()
	client, _ := memcachetest.New(t)
	s, err := memcache.New(client, memcache.Options{Prefix: unique("session") + ":"})
	fatalIf(t, "memcache.New", err)
	return s
}

// newSQLite opens a store over a new database file in t's temporary
// directory: SQLite needs no server, hence no container.
func newSQLite(t testing.TB) sessionstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), sqlite.Options{CleanupInterval: -1})
	fatalIf(t, "sqlite.Open", err)
	t.Cleanup(func() { s.Close() })
	return s
}
