package main

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

// TestCheck runs check against each backend's server: every rule passes or
// is skipped for a capability the backend lacks, and nothing is left in
// the server. (storetest's own tests show that RunSuite, which check
// prints, fails the rule each broken store breaks.)
func TestCheck(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := b.url(t)
			r := sessionstoreCmd(t, "check", u)
			if r.code != exitOK || !strings.Contains(r.stdout, " 0 failed") {
				t.Fatalf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if n := len(lines); n < 100 {
				t.Errorf("check printed %d lines; want a line per rule", n)
			}
			t.Log(lines[len(lines)-1])
			if left := leftovers(t, b.name, u, "sessionstore_check_"); len(left) > 0 {
				t.Errorf("check left %q behind", left)
			}
		})
	}
}

// leftovers lists what namespaces starting with pattern left in the
// backend's server.
func leftovers(t *testing.T, backend, u, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	switch backend {
	case "redis":
		c, _ := redistest.New(t)
		keys, err := c.Keys(ctx, pattern+"*").Result()
		if err != nil && err != goredis.Nil {
			t.Fatal(err)
		}
		return keys
	case "redis-cluster":
		c, _ := redistest.NewCluster(t)
		var mu sync.Mutex
		var keys []string
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			k, err := node.Keys(ctx, pattern+"*").Result()
			mu.Lock()
			defer mu.Unlock()
			keys = append(keys, k...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	case "postgres":
		pool, _ := pgtest.New(t)
		rows, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE tablename LIKE $1", pattern+"%")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		return names
	case "mongodb":
		// check used the URL's database, the one mongotest gave this test.
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		db, _ := mongotest.New(t)
		names, err := db.Client().Database(strings.TrimPrefix(pu.Path, "/")).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, n := range names {
			if strings.HasPrefix(n, pattern) {
				left = append(left, n)
			}
		}
		return left
	}
	return nil // memcached cannot list its keys; check deletes what it wrote
}
