package encrypt_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/internal/backendtest"
)

// app is a Manager serving real HTTP over an encrypted store.
type app struct {
	server *httptest.Server
}

func newApp(t *testing.T, store sessionstore.Store) *app {
	t.Helper()
	m := sessionstore.New(store)
	m.Logger = quietLogger // the conflicts below are expected
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put(r.URL.Query().Get("k"), r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sessionstore.FromContext(r.Context()).GetString(r.URL.Query().Get("k")))
	})
	mux.HandleFunc("/all", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		keys := s.Keys()
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%s\n", k, s.GetString(k))
		}
	})
	mux.HandleFunc("/key", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sessionstore.FromContext(r.Context()).Key())
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).RenewID()
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Destroy()
	})
	a := &app{server: httptest.NewServer(m.Handler(mux))}
	t.Cleanup(a.server.Close)
	return a
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute}
}

// get requests path and returns the body; any status but 200 fails.
func (a *app) get(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	body, err := a.try(c, path)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (a *app) try(c *http.Client, path string) (string, error) {
	resp, err := c.Get(a.server.URL + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body), nil
}

// TestManagerOverHTTP runs a Manager over an encrypted store on every
// backend: a session is put, read, renewed, written by concurrent requests
// and destroyed, while the backend only ever holds sealed records; a
// process with another key ring reads the session as absent and answers
// 200 with a fresh session.
func TestManagerOverHTTP(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			inner := b.NewStore(t)
			store, err := encrypt.New(inner, ring(t), encrypt.Options{Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			a := newApp(t, store)
			c := newClient(t)

			a.get(t, c, "/put?k=email&v=ann@example.com")
			if got := a.get(t, c, "/get?k=email"); got != "ann@example.com" {
				t.Fatalf("read back %q", got)
			}
			key := a.get(t, c, "/key")
			rec, found, err := inner.Load(ctx, key)
			if err != nil || !found {
				t.Fatalf("the backend has no record under the session's key: %v, %v", found, err)
			}
			if rec.Data[0] != 0xE1 || bytes.Contains(rec.Data, []byte("ann@example.com")) {
				t.Fatalf("the backend holds the session unsealed: %q", rec.Data)
			}

			oldCookies := c.Jar.Cookies(mustURL(t, a.server.URL))
			a.get(t, c, "/renew")
			renewed := a.get(t, c, "/key")
			if renewed == key {
				t.Fatal("RenewID kept the store key")
			}
			if got := a.get(t, c, "/get?k=email"); got != "ann@example.com" {
				t.Fatalf("after renew read %q", got)
			}
			// The old id gives no session any more (the Manager deletes its
			// record, or leaves a forward to the new one for a grace period).
			thief := newClient(t)
			thief.Jar.SetCookies(mustURL(t, a.server.URL), oldCookies)
			if got := a.get(t, thief, "/get?k=email"); got != "" {
				t.Fatalf("the old id still reads the session after renew: %q", got)
			}
			if rec, found, err := inner.Load(ctx, key); err != nil || found && (rec.Data[0] != 0xE1 || bytes.Contains(rec.Data, []byte(renewed))) {
				t.Fatalf("under the old key after renew: %q, %v, %v; want nothing, or a sealed record", rec.Data, found, err)
			}

			// Concurrent writers of one session, each setting its own key:
			// the Manager merges them through the wrapper's CompareAndSwap.
			// None may fail, none of the writes may be lost.
			const writers = 30
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i := range writers {
				wg.Go(func() {
					if _, err := a.try(c, fmt.Sprintf("/put?k=w%02d&v=%d", i, i)); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			all := a.get(t, c, "/all")
			for i := range writers {
				if want := fmt.Sprintf("w%02d=%d\n", i, i); !strings.Contains(all, want) {
					t.Fatalf("concurrent write %d lost; session holds:\n%s", i, all)
				}
			}

			// Another process whose ring lacks the key: a fresh session, no
			// error, and the record is left to the process that can read it.
			var warnings logBuffer
			other, err := encrypt.New(inner, ring(t), encrypt.Options{Logger: slog.New(slog.NewTextHandler(&warnings, nil))})
			if err != nil {
				t.Fatal(err)
			}
			stranger := newApp(t, other)
			// Cookies are per host, not per port: c sends its cookie there too.
			if got := stranger.get(t, c, "/get?k=email"); got != "" {
				t.Fatalf("a process with other keys read %q", got)
			}
			if !strings.Contains(warnings.String(), "authentication failed") {
				t.Fatalf("the other process did not warn of a record that does not open:\n%s", warnings.String())
			}
			if got := a.get(t, c, "/get?k=email"); got != "ann@example.com" {
				t.Fatalf("after the other process's request the session reads %q", got)
			}

			a.get(t, c, "/destroy")
			if got := a.get(t, c, "/get?k=email"); got != "" {
				t.Fatalf("after destroy read %q", got)
			}
			if _, found, err := inner.Load(ctx, renewed); err != nil || found {
				t.Fatalf("the record is still stored after destroy: %v, %v", found, err)
			}
		})
	}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
