package echotest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestEcho runs echo-contrib/session over HTTP on every backend, each over
// its real server in a container: a visit counter, a login that renews the
// id, a logout that deletes the session.
func TestEcho(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			store := b.NewStore(t)
			runFlow(t, store, serve(t, gorillastore.New(store)))
		})
	}
	t.Run("memory+encrypt", func(t *testing.T) {
		t.Parallel()
		store, _ := frameworktest.EncryptedMemory(t)
		runFlow(t, store, serve(t, gorillastore.New(store)))
	})
}

const cookieName = "session"

func serve(t *testing.T, gs *gorillastore.Store) string {
	e := echo.New()
	e.Use(session.Middleware(gs))
	e.GET("/visit", func(c echo.Context) error {
		s, err := session.Get(cookieName, c)
		if err != nil {
			return err
		}
		n, _ := s.Values["visits"].(int)
		s.Values["visits"] = n + 1
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(200, strconv.Itoa(n+1))
	})
	e.GET("/login", func(c echo.Context) error {
		s, err := session.Get(cookieName, c)
		if err != nil {
			return err
		}
		if err := gs.RenewID(c.Request().Context(), s); err != nil {
			return err
		}
		s.Values["user"] = c.QueryParam("user")
		return s.Save(c.Request(), c.Response())
	})
	e.GET("/whoami", func(c echo.Context) error {
		s, err := session.Get(cookieName, c)
		if err != nil {
			return err
		}
		user, _ := s.Values["user"].(string)
		n, _ := s.Values["visits"].(int)
		return c.String(200, user+"|"+strconv.Itoa(n))
	})
	e.GET("/logout", func(c echo.Context) error {
		s, err := session.Get(cookieName, c)
		if err != nil {
			return err
		}
		s.Options.MaxAge = -1
		return s.Save(c.Request(), c.Response())
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

func runFlow(t *testing.T, store sessionstore.Store, srv string) {
	c := newClient(t)
	if _, body := get(t, c, srv+"/visit"); body != "1" {
		t.Fatalf("first visit = %q, want 1", body)
	}
	if _, body := get(t, c, srv+"/visit"); body != "2" {
		t.Fatalf("second visit = %q, want 2: the session did not round-trip through the store", body)
	}
	first := jarCookie(t, c, srv)
	wantStored(t, store, first, true)

	get(t, c, srv+"/login?user=ann")
	renewed := jarCookie(t, c, srv)
	if renewed == "" || renewed == first {
		t.Fatalf("login kept session id %q (now %q): want a new one", first, renewed)
	}
	wantStored(t, store, first, false)
	wantStored(t, store, renewed, true)
	if _, body := get(t, c, srv+"/whoami"); body != "ann|2" {
		t.Fatalf("after login whoami = %q, want ann|2: the data follows the new id", body)
	}
	if _, body := get(t, newClient(t), srv+"/whoami"); body != "|0" {
		t.Fatalf("another client sees %q", body)
	}

	resp, _ := get(t, c, srv+"/logout")
	if ck := findCookie(resp.Cookies()); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout cookie %v: want it expired", ck)
	}
	wantStored(t, store, renewed, false)
	if _, body := get(t, c, srv+"/whoami"); body != "|0" {
		t.Fatalf("after logout whoami = %q, want |0", body)
	}
}

// storeKey is what gorillastore stores a session under: the base64url
// SHA-256 hash of its id.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func wantStored(t *testing.T, store sessionstore.Store, id string, want bool) {
	t.Helper()
	_, found, err := store.Load(context.Background(), storeKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if found != want {
		t.Fatalf("session %q stored: %v, want %v", id, found, want)
	}
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
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

func findCookie(cookies []*http.Cookie) *http.Cookie {
	for _, ck := range cookies {
		if ck.Name == cookieName {
			return ck
		}
	}
	return nil
}

// jarCookie returns the session cookie the client holds for srv, or "".
func jarCookie(t *testing.T, c *http.Client, srv string) string {
	t.Helper()
	u, err := url.Parse(srv)
	if err != nil {
		t.Fatal(err)
	}
	if ck := findCookie(c.Jar.Cookies(u)); ck != nil {
		return ck.Value
	}
	return ""
}

// TestForeignCookie sends a session cookie the store never issued (a
// leftover of gorilla's CookieStore, a typo, an attack) through the real
// echo-contrib/session and the README's handler, which returns session.Get's
// error: the request gets a new session, not a 500 on every page until the
// cookie expires.
func TestForeignCookie(t *testing.T) {
	srv := serve(t, gorillastore.New(memory.New(memory.Options{})))
	req, err := http.NewRequest("GET", srv+"/visit", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookieName+"=zzz")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "1" {
		t.Fatalf("GET with a foreign cookie: %d %q, want 200 \"1\": a new session", resp.StatusCode, body)
	}
	if ck := findCookie(resp.Cookies()); ck == nil || ck.Value == "zzz" || len(ck.Value) != 43 {
		t.Fatalf("cookie = %v, want a fresh id replacing the foreign one", ck)
	}
}
