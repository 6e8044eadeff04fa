package main

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/mongo"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
)

// TestOpenStoreRejectsBadValues needs no server: each value fails before
// anything is dialled, with the reason and the list of accepted forms, and
// never shows a password.
func TestOpenStoreRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"", "unknown store"},
		{"sqlite", "unknown store"},
		{"Memory", "unknown store"},
		{"sqlite://x", `unknown scheme "sqlite"`},
		{"http://localhost:6379", `unknown scheme "http"`},
		{"redis://h:port", `-store: not a valid URL (invalid port ":port" after host)`},
		{"redis://u:secret@h:port", "not a valid URL"},
		{"redis://", "missing host"},
		{"rediss://:6379/0", "missing host"},
		{"redis://u:secret@/0", "-store redis://u:xxxxx@/0: missing host"},
		{"redis://h:6379/x", `invalid database number: "x"`},
		{"redis://h:6379/0?bogus=1", "unexpected option: bogus"},
		{"redis://a:6379,b:6379", "one host only; use redis+cluster://"},
		{"redis+cluster://", "missing host"},
		{"redis+cluster://a,b:7000", `"a" is not host:port`},
		{"redis+cluster://a:7000,b", `not a valid URL (invalid port ":7000,b" after host)`},
		{"redis+cluster://a:7000/1", "redis+cluster:// takes no path or query"},
		{"postgres:///db", "missing host"},
		{"postgresql://u:secret@h:99999999/db", "invalid port"},
		{"postgres://h/db?sslmode=bogus", "sslmode is invalid"},
		{"mongodb://", "missing host"},
		{"mongodb+srv://h:27017", "srv must not include a port"},
		{"mongodb://h/a/b", `"a/b" is not a database name`},
		{"mongodb://h/?authMechanism=BOGUS", "invalid auth mechanism"},
		{"memcache://", "missing host"},
		{"memcache://h", `"h" is not host:port`},
		{"memcache://,h:11211", "missing host"},
		{"memcache://h:11211/x", "memcache:// takes no path or query"},
		{"memcache://u:secret@h:11211", "memcache:// takes no user name or password"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, closeStore, err := openStore(ctx, tc.arg)
			if err == nil {
				closeStore(ctx)
				t.Fatalf("opened %T, want an error", st)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("error %q shows the password", msg)
			}
			for _, form := range []string{"memory", "redis://", "redis+cluster://", "postgres://", "mongodb://", "memcache://host:port"} {
				if !strings.Contains(msg, "accepted forms:\n") || !strings.Contains(msg, "\n  "+form) {
					t.Errorf("error %q does not list the form %s", msg, form)
				}
			}
		})
	}
}

// TestOpenStoreFailsAtOnceWithoutServer points each backend at a port
// nobody listens on: openStore must fail within its context, naming the
// store, rather than return a store that fails at the first request.
func TestOpenStoreFailsAtOnceWithoutServer(t *testing.T) {
	addr := testservers.ClosedAddr(t)
	for _, arg := range []string{
		"redis://" + addr + "/0",
		"redis+cluster://" + addr,
		"postgres://u:secret@" + addr + "/db",
		"mongodb://" + addr + "/db",
		"memcache://" + addr,
	} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			const limit = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			start := time.Now()
			_, _, err := openStore(ctx, arg)
			if took := time.Since(start); took > limit+time.Second {
				t.Errorf("openStore took %v with a %v context", took, limit)
			}
			if err == nil {
				t.Fatal("opened a store with no server behind it")
			}
			if want := "-store " + shownStore(arg) + ": ping: "; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arg, st := tc.open(t)
			d := startDemo(t, "-store", arg)
			if want := "(store: " + shownStore(arg) + ")"; !strings.Contains(d.banner, want) {
				t.Errorf("first line %q: want %q", d.banner, want)
			}
			if strings.Contains(d.banner, ":postgres@") {
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
