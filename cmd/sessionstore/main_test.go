package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{}) // as main does
	// check runs the whole suite on every backend; each is proven with the
	// model's full run length in its own package.
	if os.Getenv("RAPID_CHECKS") == "" {
		flag.Set("rapid.checks", "25")
	}
	// TestCheckReportsBrokenStore fails rules on purpose: no rapid failure
	// file in testdata for it (the command's own runs write none either).
	flag.Set("rapid.nofailfile", "true")
	testservers.Main(m)
}

// backend gives URLs of one backend's server in its container.
type backend struct {
	name string
	// url returns a URL of the server naming a fresh prefix, table or
	// collection, so that tests never see each other's records.
	url func(t *testing.T) string
	// iterates reports whether the backend can walk its records.
	iterates bool
}

// unique returns a prefix, table or collection name no other test uses.
func unique() string { return "cmd_" + strings.ToLower(rand.Text()[:10]) }

func backends() []backend {
	return []backend{
		{"redis", func(t *testing.T) string {
			_, srv := redistest.New(t)
			return cmp.Or(os.Getenv(redistest.URLEnv), "redis://"+srv.Addr+"/0") + "?prefix=" + unique() + ":"
		}, true},
		{"redis-cluster", func(t *testing.T) string {
			c, servers := redistest.NewCluster(t)
			// The nodes announce addresses on the Docker bridge, which the
			// command, knowing nothing of the test's address mapping, must
			// reach.
			var mu sync.Mutex
			var announced []string
			err := c.ForEachShard(t.Context(), func(ctx context.Context, node *goredis.Client) error {
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
			return "redis+cluster://" + strings.Join(addrs, ",") + "?prefix=" + unique() + ":"
		}, true},
		{"postgres", func(t *testing.T) string {
			_, srv := pgtest.New(t)
			u := cmp.Or(os.Getenv(pgtest.URLEnv), "postgres://postgres:postgres@"+srv.Addr+"/postgres")
			return withParam(t, u, "table", unique())
		}, true},
		{"mongodb", func(t *testing.T) string {
			db, srv := mongotest.New(t) // a database of the test's own, dropped after it
			u, err := url.Parse(cmp.Or(os.Getenv(mongotest.URLEnv), "mongodb://"+srv.Addr))
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "/" + db.Name()
			return withParam(t, u.String(), "collection", unique())
		}, true},
		{"memcache", func(t *testing.T) string {
			_, srv := memcachetest.New(t)
			return "memcache://" + srv.Addr + "?prefix=" + unique() + ":"
		}, false},
		{"mysql", func(t *testing.T) string {
			_, srv := mysqltest.New(t)
			return "mysql://root:" + mysqltest.Password + "@" + srv.Addr + "/" + mysqltest.Database + "?table=" + unique()
		}, true},
		{"sqlite", func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "sessions.db") + "?table=" + unique()
		}, true},
	}
}

func withParam(t *testing.T, raw, key, val string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, val)
	u.RawQuery = q.Encode()
	return u.String()
}

// result is what one run of the command did.
type result struct {
	stdout, stderr string
	code           int
}

// sessionstoreCmd runs the command in this process.
func sessionstoreCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// want fails the test unless the command exited with code.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// openStore opens url as the application would, creating its table or
// indexes, closed when the test ends.
func openStore(t *testing.T, u string) *storeurl.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := storeurl.Open(ctx, u, storeurl.Options{Prepare: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(st) })
	return st
}

// newSession stores a session through a Manager, logged in as owner unless
// owner is "", and returns its store key.
func newSession(t *testing.T, m *sessionstore.Manager, owner string) string {
	t.Helper()
	var s *sessionstore.Session
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = sessionstore.FromContext(r.Context())
		s.Put("visits", 1)
		if owner != "" {
			s.LogIn(owner, map[string]string{"agent": "test"})
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", nil))
	if rec.Code != http.StatusOK || s.Key() == "" {
		t.Fatalf("the request stored no session: %d %s", rec.Code, rec.Body)
	}
	return s.Key()
}
