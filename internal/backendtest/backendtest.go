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
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
)

// Backend names one backend and opens stores of it.
type Backend struct {
	// Name is the backend's package name: memory, redis, postgres, mongo,
	// memcache, mysql, sqlite.
	Name string

	// NewStore returns a new, empty store isolated from every other store it
	// returned (its own prefix, table or collection), removed when t ends.
	NewStore func(t testing.TB) sessionstore.Store

	// OpenAgain opens another store over the data of one NewStore returned
	// (storetest.Harness.OpenAgain): another Store value configured alike,
	// or, for the memory store, the same value while it is open.
	OpenAgain func(t testing.TB, st sessionstore.Store) sessionstore.Store
}

// opener remembers how each network store was opened, for OpenAgain.
var opener reopen.Opener

// All returns every backend, the in-memory one first.
func All() []Backend {
	return []Backend{
		{Name: "memory", NewStore: newMemory, OpenAgain: reopen.Same},
		{Name: "redis", NewStore: newRedis, OpenAgain: opener.OpenAgain},
		{Name: "postgres", NewStore: newPostgres, OpenAgain: opener.OpenAgain},
		{Name: "mongo", NewStore: newMongo, OpenAgain: opener.OpenAgain},
		{Name: "memcache", NewStore: newMemcache, OpenAgain: opener.OpenAgain},
		{Name: "mysql", NewStore: newMySQL, OpenAgain: opener.OpenAgain},
		{Name: "sqlite", NewStore: newSQLite, OpenAgain: opener.OpenAgain},
	}
}

// WithCluster returns All with a Redis Cluster of three masters after the
// single Redis server, for tests whose promise must hold where keys of one
// session and its renewal land on different nodes.
func WithCluster() []Backend {
	all := All()
	return append(all[:2:2], append([]Backend{{Name: "redis-cluster", NewStore: newRedisCluster, OpenAgain: opener.OpenAgain}}, all[2:]...)...)
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
	opener.Track(s, func(t testing.TB) sessionstore.Store {
		again, err := redis.New(client, redis.Options{Prefix: prefix})
		fatalIf(t, "redis.New", err)
		return again
	})
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
	opener.Track(s, func(t testing.TB) sessionstore.Store {
		again, err := redis.New(client, redis.Options{Prefix: prefix})
		fatalIf(t, "redis.New over a cluster", err)
		return again
	})
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
	return opener.Track(s, func(t testing.TB) sessionstore.Store {
		again, err := postgres.New(pool, postgres.Options{Table: table, CleanupInterval: -1})
		fatalIf(t, "postgres.New", err)
		t.Cleanup(func() { again.Close() })
		return again
	})
}

func newMongo(t testing.TB) sessionstore.Store {
	t.Helper()
	db, _ := mongotest.New(t)
	opts := mongo.Options{
		Collection: unique("sessions"),
		Logger:     slog.New(slog.DiscardHandler), // the TTL fallback notice is expected here
	}
	open := func(t testing.TB) sessionstore.Store {
		s, err := mongo.New(db, opts)
		fatalIf(t, "mongo.New", err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fatalIf(t, "mongo EnsureIndexes", s.EnsureIndexes(ctx))
		t.Cleanup(func() { s.Close() })
		return s
	}
	return opener.Track(open(t), open)
}

func newMemcache(t testing.TB) sessionstore.Store {
	t.Helper()
	client, _ := memcachetest.New(t)
	opts := memcache.Options{Prefix: unique("session") + ":"}
	open := func(t testing.TB) sessionstore.Store {
		s, err := memcache.New(client, opts)
		fatalIf(t, "memcache.New", err)
		return s
	}
	return opener.Track(open(t), open)
}

func newMySQL(t testing.TB) sessionstore.Store {
	t.Helper()
	db, _ := mysqltest.New(t)
	table := unique("sessions")
	s, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1})
	fatalIf(t, "mysql.New", err)
	fatalIf(t, "mysql CreateTable", s.CreateTable(context.Background()))
	t.Cleanup(func() {
		s.Close()
		db.Exec("DROP TABLE IF EXISTS `" + table + "`")
	})
	return opener.Track(s, func(t testing.TB) sessionstore.Store {
		again, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1})
		fatalIf(t, "mysql.New", err)
		t.Cleanup(func() { again.Close() })
		return again
	})
}

// newSQLite opens a store over a new database file in t's temporary
// directory: SQLite needs no server, hence no container.
func newSQLite(t testing.TB) sessionstore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	open := func(t testing.TB) sessionstore.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{CleanupInterval: -1})
		fatalIf(t, "sqlite.Open", err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	return opener.Track(open(t), open)
}

// ShorterModelRuns sets the number of random sequences the conformance
// suite's model check tries (rapid's -rapid.checks) to n, unless RAPID_CHECKS
// is set; a -rapid.checks flag on the command line still wins. Call it from
// TestMain of a package that runs the suite through something over every
// backend (a wrapper, a command): each backend is proven with the full run
// length in its own package, and seven backends at full length made CI
// minutes longer.
func ShorterModelRuns(n int) {
	if os.Getenv("RAPID_CHECKS") == "" {
		flag.Set("rapid.checks", strconv.Itoa(n)) // registered by storetest's rapid
	}
}
