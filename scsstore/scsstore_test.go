package scsstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/scsstore"
)

// app is a real scs.SessionManager with LoadAndSave over the adapter.
type app struct {
	sm     *scs.SessionManager
	server *httptest.Server
}

func newApp(t *testing.T, store sessionstore.Store, configure func(*scs.SessionManager)) *app {
	t.Helper()
	sm := scs.New()
	sm.Store = scsstore.New(store)
	if configure != nil {
		configure(sm)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "msg", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sm.GetString(r.Context(), "msg"))
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	a := &app{sm: sm, server: httptest.NewServer(sm.LoadAndSave(mux))}
	t.Cleanup(a.server.Close)
	return a
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func (a *app) get(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get(a.server.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

func (a *app) token(t *testing.T, c *http.Client) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(t, a.server.URL)) {
		if ck.Name == a.sm.Cookie.Name {
			return ck.Value
		}
	}
	return ""
}

// runSCS drives a real scs.SessionManager over HTTP on the store newStore
// returns: put, get, renew token, destroy, expiry and iterate.
func runSCS(t *testing.T, newStore func(t testing.TB) sessionstore.Store) {
	t.Run("put and get", func(t *testing.T) {
		a := newApp(t, newStore(t), nil)
		c := newClient(t)
		a.get(t, c, "/put?v=hello")
		if got := a.get(t, c, "/get"); got != "hello" {
			t.Fatalf("get = %q, want hello", got)
		}
		if got := a.get(t, newClient(t), "/get"); got != "" {
			t.Fatalf("another client sees %q", got)
		}
	})
	t.Run("renew token keeps data and drops the old token", func(t *testing.T) {
		store := newStore(t)
		a := newApp(t, store, nil)
		c := newClient(t)
		a.get(t, c, "/put?v=kept")
		old := a.token(t, c)
		a.get(t, c, "/renew")
		renewed := a.token(t, c)
		if old == "" || renewed == "" || old == renewed {
			t.Fatalf("token before %q, after %q: want two different tokens", old, renewed)
		}
		if got := a.get(t, c, "/get"); got != "kept" {
			t.Fatalf("after renew get = %q, want kept", got)
		}
		if _, found, err := store.Load(context.Background(), old); err != nil || found {
			t.Fatalf("old token still stored: found=%v err=%v", found, err)
		}
	})
	t.Run("destroy removes the session", func(t *testing.T) {
		store := newStore(t)
		a := newApp(t, store, nil)
		c := newClient(t)
		a.get(t, c, "/put?v=gone")
		tok := a.token(t, c)
		a.get(t, c, "/destroy")
		if _, found, err := store.Load(context.Background(), tok); err != nil || found {
			t.Fatalf("destroyed token still stored: found=%v err=%v", found, err)
		}
		if got := a.get(t, c, "/get"); got != "" {
			t.Fatalf("after destroy get = %q, want empty", got)
		}
	})
	t.Run("session expires in the store", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, newStore(t), func(sm *scs.SessionManager) {
			sm.Lifetime = 1500 * time.Millisecond
			sm.Cookie.Persist = false // the jar keeps the cookie: only the store can expire it
		})
		c := newClient(t)
		a.get(t, c, "/put?v=short")
		if got := a.get(t, c, "/get"); got != "short" {
			t.Fatalf("before expiry get = %q", got)
		}
		time.Sleep(3 * time.Second) // the store's expiry is the thing under test
		if got := a.get(t, c, "/get"); got != "" {
			t.Fatalf("after expiry get = %q, want empty", got)
		}
	})
	t.Run("iterate visits every session", func(t *testing.T) {
		store := newStore(t)
		if _, ok := store.(sessionstore.Iterator); !ok {
			if _, ok := scsstore.New(store).(scs.IterableCtxStore); ok {
				t.Fatal("adapter claims iteration over a store that cannot iterate")
			}
			return
		}
		a := newApp(t, store, nil)
		want := map[string]bool{}
		for i := range 5 {
			v := fmt.Sprintf("user%d", i)
			a.get(t, newClient(t), "/put?v="+v)
			want[v] = true
		}
		got := map[string]bool{}
		err := a.sm.Iterate(context.Background(), func(ctx context.Context) error {
			got[a.sm.GetString(ctx, "msg")] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("iterate saw %v, want %v", got, want)
		}
	})
	t.Run("malformed token is not found", func(t *testing.T) {
		s := scsstore.New(newStore(t))
		_, found, err := s.FindCtx(context.Background(), strings.Repeat("x", 300))
		if err != nil || found {
			t.Fatalf("found=%v err=%v, want not found and nil error", found, err)
		}
		if err := s.DeleteCtx(context.Background(), ""); err != nil {
			t.Fatalf("delete of malformed token: %v", err)
		}
	})
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSCS runs a real scs.SessionManager on every backend, each against its
// real server in a container.
func TestSCS(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runSCS(t, b.NewStore)
		})
	}
	t.Run("memory+encrypt", func(t *testing.T) {
		t.Parallel()
		runSCS(t, func(t testing.TB) sessionstore.Store {
			store, _ := frameworktest.EncryptedMemory(t)
			return store
		})
	})
}
