package gorillastore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestGorilla runs real gorilla/sessions handlers on every backend, each
// against its real server in a container.
func TestGorilla(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runGorilla(t, b.NewStore)
		})
	}
}

// newServer serves two named sessions per request through gorilla's
// registry: "prefs" and "auth".
func newServer(t *testing.T, gs *gorillastore.Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		prefs, err := gs.Get(r, "prefs")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		auth, err := gs.Get(r, "auth")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		prefs.Values["theme"] = r.URL.Query().Get("theme")
		auth.Values["user"] = r.URL.Query().Get("user")
		auth.AddFlash("welcome")
		if err := sessions.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		prefs, err1 := gs.Get(r, "prefs")
		auth, err2 := gs.Get(r, "auth")
		if err := errors.Join(err1, err2); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		theme, _ := prefs.Values["theme"].(string)
		user, _ := auth.Values["user"].(string)
		flashes := auth.Flashes()
		if err := auth.Save(r, w); err != nil { // flashes are consumed
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, theme+"|"+user+"|"+strings.Repeat("*", len(flashes)))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		auth, err := gs.Get(r, "auth")
		if err == nil {
			err = gs.RenewID(r.Context(), auth)
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		auth.Values["user"] = r.URL.Query().Get("user")
		if err := auth.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		auth, err := gs.Get(r, "auth")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		auth.Options.MaxAge = -1
		if err := auth.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return resp, string(body)
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func setCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func runGorilla(t *testing.T, newStore func(testing.TB) sessionstore.Store) {
	t.Run("named sessions round-trip, flashes are consumed", func(t *testing.T) {
		store := newStore(t)
		srv := newServer(t, gorillastore.New(store))
		c := newClient(t)
		resp, _ := get(t, c, srv.URL+"/set?theme=dark&user=ann")
		for _, name := range []string{"prefs", "auth"} {
			ck := setCookie(resp, name)
			if ck == nil {
				t.Fatalf("no %q cookie set", name)
			}
			if strings.Contains(ck.Value, "ann") || len(ck.Value) != 43 {
				t.Fatalf("cookie %q = %q: want a 43-character id, not the data", name, ck.Value)
			}
			if _, found, _ := store.Load(context.Background(), ck.Value); found {
				t.Fatalf("the store keys a session by its raw cookie id %q: want a hash", ck.Value)
			}
		}
		if _, body := get(t, c, srv.URL+"/get"); body != "dark|ann|*" {
			t.Fatalf("first get = %q, want dark|ann|*", body)
		}
		if _, body := get(t, c, srv.URL+"/get"); body != "dark|ann|" {
			t.Fatalf("second get = %q, want the flash consumed", body)
		}
		if _, body := get(t, newClient(t), srv.URL+"/get"); body != "||" {
			t.Fatalf("another client sees %q", body)
		}
	})
	t.Run("RenewID gives a new id and deletes the old record", func(t *testing.T) {
		store := newStore(t)
		srv := newServer(t, gorillastore.New(store))
		c := newClient(t)
		resp, _ := get(t, c, srv.URL+"/set?theme=dark&user=guest")
		old := setCookie(resp, "auth")
		if old == nil {
			t.Fatal("no auth cookie set")
		}
		if _, found, err := store.Load(context.Background(), sha(old.Value)); !found || err != nil {
			t.Fatalf("the record of the first id: found %v, %v; want found", found, err)
		}
		resp, _ = get(t, c, srv.URL+"/login?user=ann")
		renewed := setCookie(resp, "auth")
		if renewed == nil || renewed.Value == old.Value {
			t.Fatalf("auth cookie before login %v, after %v: want a new id", old, renewed)
		}
		if _, found, err := store.Load(context.Background(), sha(old.Value)); found || err != nil {
			t.Fatalf("the record of the old id: found %v, %v; want deleted", found, err)
		}
		if _, body := get(t, c, srv.URL+"/get"); body != "dark|ann|*" {
			t.Fatalf("after login get = %q, want dark|ann|*", body)
		}
	})
	t.Run("MaxAge < 0 deletes the session and the cookie", func(t *testing.T) {
		store := newStore(t)
		srv := newServer(t, gorillastore.New(store))
		c := newClient(t)
		get(t, c, srv.URL+"/set?theme=light&user=bob")
		before := countRecords(t, store)
		resp, _ := get(t, c, srv.URL+"/logout")
		ck := setCookie(resp, "auth")
		if ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("logout cookie = %v, want an expired auth cookie", ck)
		}
		if before >= 0 {
			if after := countRecords(t, store); after != before-1 {
				t.Fatalf("records before logout %d, after %d: want one deleted", before, after)
			}
		}
		if _, body := get(t, c, srv.URL+"/get"); body != "light||" {
			t.Fatalf("after logout get = %q, want light||", body)
		}
	})
	t.Run("MaxAge 0 is a browser-session cookie, the store still expires it", func(t *testing.T) {
		t.Parallel()
		gs := gorillastore.New(newStore(t))
		gs.Options.MaxAge = 0
		gs.BrowserSessionLifetime = 1500 * time.Millisecond
		srv := newServer(t, gs)
		c := newClient(t)
		resp, _ := get(t, c, srv.URL+"/set?theme=blue&user=cy")
		if ck := setCookie(resp, "auth"); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("cookie = %v, want no Max-Age and no Expires", ck)
		}
		if _, body := get(t, c, srv.URL+"/get"); body != "blue|cy|*" {
			t.Fatalf("before expiry get = %q", body)
		}
		time.Sleep(3 * time.Second) // the store's expiry is the thing under test
		if _, body := get(t, c, srv.URL+"/get"); body != "||" {
			t.Fatalf("after expiry get = %q, want ||", body)
		}
	})
	t.Run("forged cookie gives a fresh session and no error", func(t *testing.T) {
		gs := gorillastore.New(newStore(t))
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: "auth", Value: "' OR 1=1 --"})
		s, err := gs.New(r, "auth")
		if err != nil {
			t.Fatalf("err = %v, want none: a forged cookie is no server error", err)
		}
		if s == nil || !s.IsNew || len(s.Values) != 0 {
			t.Fatalf("session = %+v, want a fresh one", s)
		}
	})
}

// sha is the store key of a cookie id: gorillastore stores a session under
// the base64url SHA-256 hash of its id.
func sha(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// countRecords counts the store's live records, or returns -1 when the store
// cannot count (memcached).
func countRecords(t *testing.T, s sessionstore.Store) int {
	t.Helper()
	n, err := sessionstore.Count(context.Background(), s)
	if errors.Is(err, errors.ErrUnsupported) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestForeignCookie sends session cookies this package never issued through
// the real gorilla/sessions registry: each must give a new session, no
// error, and a Save that replaces the cookie with a fresh id.
func TestForeignCookie(t *testing.T) {
	// A cookie of gorilla's own CookieStore under the same name: what a
	// visitor still carries after an application switches stores.
	cs := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	old, _ := cs.Get(req, "auth")
	old.Values["user"] = "mallory"
	if err := old.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	leftover := setCookie(rec.Result(), "auth").Value

	for name, value := range map[string]string{
		"short":                   "zzz",
		"gorilla CookieStore":     leftover,
		"oversized":               strings.Repeat("A", 4000),
		"43 chars, not base64url": strings.Repeat("*", 43),
	} {
		t.Run(name, func(t *testing.T) {
			gs := gorillastore.New(memory.New(memory.Options{}))
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "auth", Value: value})
			s, err := gs.Get(r, "auth")
			if err != nil {
				t.Fatalf("Get: %v, want no error", err)
			}
			if !s.IsNew || len(s.Values) != 0 {
				t.Fatalf("session = %+v, want a new, empty one", s)
			}
			s.Values["n"] = 1
			w := httptest.NewRecorder()
			if err := sessions.Save(r, w); err != nil {
				t.Fatalf("Save: %v", err)
			}
			ck := setCookie(w.Result(), "auth")
			if ck == nil || ck.Value == value || len(ck.Value) != 43 {
				t.Fatalf("cookie after Save = %v, want a fresh 43-character id", ck)
			}
		})
	}
}
