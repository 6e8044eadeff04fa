package ginstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/ginstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	testservers.Main(m)
}

// TestGin runs gin-contrib/sessions over HTTP on every backend, each over its
// real server in a container: a visit counter, a login that renews the id,
// a logout that deletes the session.
func TestGin(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			store := b.NewStore(t)
			runFlow(t, store, serve(t, ginstore.New(store)))
		})
	}
	t.Run("memory+encrypt", func(t *testing.T) {
		t.Parallel()
		store, _ := frameworktest.EncryptedMemory(t)
		runFlow(t, store, serve(t, ginstore.New(store)))
	})
}

// TestOptions checks that the Options method, which gin-contrib/sessions
// calls, sets the cookie of every new session.
func TestOptions(t *testing.T) {
	store := backendtest.All()[0].NewStore(t)
	gs := ginstore.New(store)
	gs.Options(sessions.Options{Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	srv := serve(t, gs)
	resp, _ := get(t, newClient(t), srv+"/visit")
	ck := findCookie(resp.Cookies())
	if ck == nil || ck.MaxAge != 60 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie = %v; want Max-Age 60, HttpOnly, SameSite Strict", ck)
	}
	rec, found, err := store.Load(context.Background(), storeKey(ck.Value))
	if !found || err != nil {
		t.Fatalf("Load = %v, %v", found, err)
	}
	if left := rec.Expiry.Sub(ck.Expires); left > 2e9 || left < -2e9 {
		t.Fatalf("store expiry %v, cookie expiry %v: want the same", rec.Expiry, ck.Expires)
	}
}

const cookieName = "session"

func serve(t *testing.T, store *ginstore.Store) string {
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, store))
	r.GET("/visit", func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := s.Get("visits").(int)
		s.Set("visits", n+1)
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "%d", n+1)
	})
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		if err := store.RenewID(c.Request.Context(), s); err != nil {
			c.String(500, err.Error())
			return
		}
		s.Set("user", c.Query("user"))
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	r.GET("/whoami", func(c *gin.Context) {
		s := sessions.Default(c)
		user, _ := s.Get("user").(string)
		n, _ := s.Get("visits").(int)
		c.String(200, "%s|%d", user, n)
	})
	r.GET("/logout", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Clear()
		s.Options(sessions.Options{Path: "/", MaxAge: -1})
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	srv := httptest.NewServer(r)
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

// TestRenewIDAlone checks that RenewID by itself, with no value set after
// it, still saves the session under a new id with its options intact.
func TestRenewIDAlone(t *testing.T) {
	store := backendtest.All()[0].NewStore(t)
	gs := ginstore.New(store)
	gs.Store.Options.Partitioned = true // a gorilla option gin's Options lack
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, gs))
	r.GET("/set", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "ann")
		s.Save()
	})
	r.GET("/renew", func(c *gin.Context) {
		s := sessions.Default(c)
		if err := gs.RenewID(c.Request.Context(), s); err != nil {
			c.String(500, err.Error())
			return
		}
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	c := newClient(t)
	get(t, c, srv.URL+"/set")
	first := jarCookie(t, c, srv.URL)
	resp, _ := get(t, c, srv.URL+"/renew")
	ck := findCookie(resp.Cookies())
	if ck == nil || ck.Value == first || !ck.Partitioned || ck.MaxAge != 30*24*60*60 {
		t.Fatalf("cookie after RenewID = %v (first id %q); want a new id, Partitioned, Max-Age 30 days", ck, first)
	}
	wantStored(t, store, first, false)
	wantStored(t, store, ck.Value, true)
}

// TestForeignCookie sends a session cookie the store never issued (a
// leftover of another store, a typo, an attack) through the real
// gin-contrib/sessions: the request gets a new session and gin-contrib logs
// no error, where it used to log one on every request until the cookie
// expired.
func TestForeignCookie(t *testing.T) {
	var logged bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil))) // gin-contrib logs with slog.Error
	t.Cleanup(func() { slog.SetDefault(prev) })

	srv := serve(t, ginstore.New(memory.New(memory.Options{})))
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
	if logged.Len() > 0 {
		t.Fatalf("gin-contrib logged:\n%s\nwant nothing: a foreign cookie is no server error", logged.String())
	}
}
