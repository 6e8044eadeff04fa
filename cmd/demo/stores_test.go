package main

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/sqlite"
)

// TestBadStoreListsAcceptedForms checks the demo's own part of a bad -store
// value's error (internal/storeurl tests the values themselves): the list of
// accepted forms, without the password.
func TestBadStoreListsAcceptedForms(t *testing.T) {
	_, _, err := openStore(context.Background(), "bogus://u:secret@x")
	if err == nil {
		t.Fatal("opened a bogus:// store")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "-store bogus://u:xxxxx@x: unknown scheme") {
		t.Errorf("error %q does not start with the value and the reason", msg)
	}
	for _, form := range []string{"memory", "redis://", "redis+cluster://", "postgres://", "mongodb://", "memcache://host:port", "mysql://", "sqlite:PATH"} {
		if !strings.Contains(msg, "accepted forms:\n") || !strings.Contains(msg, "\n  "+form) {
			t.Errorf("error %q does not list the form %s", msg, form)
		}
	}
}

// TestDocListsAcceptedStores keeps the package doc in step with the forms
// the code accepts.
func TestDocListsAcceptedStores(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for form := range strings.Lines(acceptedStores) {
		if line := "//\t" + strings.TrimSuffix(form, "\n") + "\n"; !strings.Contains(string(src), line) {
			t.Errorf("the package doc lacks the line %q", line)
		}
	}
}

// TestDemoOnEachBackend runs the demo as a user would, with -store naming a
// real server in a container, and walks the login flow through it, then
// the devices page. The login flow checks the records in the server through
// a store of the test's own.
func TestDemoOnEachBackend(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// open returns the -store value of a running server and a store
		// of the test's own over that server, under the demo's key layout.
		open func(t *testing.T) (string, sessionstore.Store)
	}{
		{"redis", func(t *testing.T) (string, sessionstore.Store) {
			c, srv := redistest.New(t)
			st, err := redis.New(c, redis.Options{})
			return cmp.Or(os.Getenv(redistest.URLEnv), "redis://"+srv.Addr+"/0"), testStore(t, st, err)
		}},
		{"redis+cluster", func(t *testing.T) (string, sessionstore.Store) {
			c, servers := redistest.NewCluster(t)
			// The nodes announce addresses on the Docker bridge, which the
			// demo, knowing nothing of the test's address mapping, must reach.
			// Each node client of c dials the address its node announces
			// (the test's Dialer maps it; the demo has none).
			var mu sync.Mutex
			var announced []string
			err := c.ForEachShard(ctx, func(ctx context.Context, node *goredis.Client) error {
				mu.Lock()
				defer mu.Unlock()
				announced = append(announced, node.Options().Addr)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, addr := range announced {
				conn, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					t.Skipf("the cluster's nodes announce %s, which this host cannot reach (%v)", addr, err)
				}
				conn.Close()
			}
			addrs := make([]string, len(servers))
			for i, s := range servers {
				addrs[i] = s.Addr
			}
			st, err := redis.New(c, redis.Options{})
			return "redis+cluster://" + strings.Join(addrs, ","), testStore(t, st, err)
		}},
		{"postgres", func(t *testing.T) (string, sessionstore.Store) {
			pool, srv := pgtest.New(t)
			st, err := postgres.New(pool, postgres.Options{CleanupInterval: -1})
			return cmp.Or(os.Getenv(pgtest.URLEnv), "postgres://postgres:postgres@"+srv.Addr+"/postgres"), testStore(t, st, err)
		}},
		{"mongodb", func(t *testing.T) (string, sessionstore.Store) {
			db, srv := mongotest.New(t) // a database of the test's own, dropped after it
			u, err := url.Parse(cmp.Or(os.Getenv(mongotest.URLEnv), "mongodb://"+srv.Addr))
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "/" + db.Name()
			st, err := mongo.New(db, mongo.Options{})
			return u.String(), testStore(t, st, err)
		}},
		{"memcache", func(t *testing.T) (string, sessionstore.Store) {
			c, srv := memcachetest.New(t)
			st, err := memcache.New(c, memcache.Options{})
			return "memcache://" + srv.Addr, testStore(t, st, err)
		}},
		{"mysql", func(t *testing.T) (string, sessionstore.Store) {
			db, srv := mysqltest.New(t)
			st, err := mysql.New(db, mysql.Options{CleanupInterval: -1})
			return "mysql://root:" + mysqltest.Password + "@" + srv.Addr + "/" + mysqltest.Database, testStore(t, st, err)
		}},
		{"sqlite", func(t *testing.T) (string, sessionstore.Store) {
			// The demo and the test open the one file, as two processes
			// would.
			path := filepath.Join(t.TempDir(), "sessions.db")
			st, err := sqlite.Open(context.Background(), path, sqlite.Options{CleanupInterval: -1})
			return "sqlite:" + path, testStore(t, st, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arg, st := tc.open(t)
			d := startDemo(t, "-store", arg)
			if want := "(store: " + shownStore(arg) + ")"; !strings.Contains(d.banner, want) {
				t.Errorf("first line %q: want %q", d.banner, want)
			}
			if strings.Contains(d.banner, ":postgres@") || strings.Contains(d.banner, ":"+mysqltest.Password+"@") {
				t.Errorf("first line %q shows the password", d.banner)
			}
			walkLoginFlow(t, d.url, storedIn(t, st))
			walkDevices(t, d.url)
			if out, err := d.stop(); err != nil || !strings.HasSuffix(out, "stopped\n") {
				t.Errorf("run printed %q and returned %v after its context ended, want \"stopped\" and nil", out, err)
			}
		})
	}
}

// testStore returns st, failing the test on err; st is closed when the test
// ends.
func testStore[S interface {
	sessionstore.Store
	Close() error
}](t *testing.T, st S, err error) sessionstore.Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
