package fiberstore_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"testing"

	fiberv2 "github.com/gofiber/fiber/v2"
	sessionv2 "github.com/gofiber/fiber/v2/middleware/session"
	fiberv3 "github.com/gofiber/fiber/v3"
	sessionv3 "github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
)

// The routes both Fiber versions serve: /visit counts visits in the session,
// /login renews the session id (against session fixation) and records the
// user, /whoami reads both, /logout destroys the session.

// TestFiberV2Session runs Fiber v2's session middleware over HTTP on every
// backend, each over its real server in a container.
func TestFiberV2Session(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			store := b.NewStore(t)
			runSessionFlow(t, store, serveV2(t, store))
		})
	}
	t.Run("memory+encrypt", func(t *testing.T) {
		t.Parallel()
		store, _ := frameworktest.EncryptedMemory(t)
		runSessionFlow(t, store, serveV2(t, store))
	})
}

// TestFiberV3Session does the same with Fiber v3's session middleware.
func TestFiberV3Session(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			store := b.NewStore(t)
			runSessionFlow(t, store, serveV3(t, store))
		})
	}
	t.Run("memory+encrypt", func(t *testing.T) {
		t.Parallel()
		store, _ := frameworktest.EncryptedMemory(t)
		runSessionFlow(t, store, serveV3(t, store))
	})
}

func serveV2(t *testing.T, store sessionstore.Store) string {
	sessions := sessionv2.New(sessionv2.Config{Storage: fiberstore.New(store, fiberstore.Options{})})
	app := fiberv2.New(fiberv2.Config{DisableStartupMessage: true})
	app.Get("/visit", func(c *fiberv2.Ctx) error {
		sess, err := sessions.Get(c)
		if err != nil {
			return err
		}
		n, _ := sess.Get("visits").(int)
		sess.Set("visits", n+1)
		if err := sess.Save(); err != nil {
			return err
		}
		return c.SendString(itoa(n + 1))
	})
	app.Get("/login", func(c *fiberv2.Ctx) error {
		sess, err := sessions.Get(c)
		if err != nil {
			return err
		}
		if err := sess.Regenerate(); err != nil {
			return err
		}
		sess.Set("user", c.Query("user"))
		return sess.Save()
	})
	app.Get("/whoami", func(c *fiberv2.Ctx) error {
		sess, err := sessions.Get(c)
		if err != nil {
			return err
		}
		user, _ := sess.Get("user").(string)
		n, _ := sess.Get("visits").(int)
		return c.SendString(user + "|" + itoa(n))
	})
	app.Get("/logout", func(c *fiberv2.Ctx) error {
		sess, err := sessions.Get(c)
		if err != nil {
			return err
		}
		return sess.Destroy()
	})
	ln := listen(t)
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

func serveV3(t *testing.T, store sessionstore.Store) string {
	app := fiberv3.New()
	app.Use(sessionv3.New(sessionv3.Config{Storage: fiberstore.New(store, fiberstore.Options{})}))
	app.Get("/visit", func(c fiberv3.Ctx) error {
		sess := sessionv3.FromContext(c)
		n, _ := sess.Get("visits").(int)
		sess.Set("visits", n+1)
		return c.SendString(itoa(n + 1))
	})
	app.Get("/login", func(c fiberv3.Ctx) error {
		sess := sessionv3.FromContext(c)
		if err := sess.Regenerate(); err != nil {
			return err
		}
		sess.Set("user", c.Query("user"))
		return nil
	})
	app.Get("/whoami", func(c fiberv3.Ctx) error {
		sess := sessionv3.FromContext(c)
		user, _ := sess.Get("user").(string)
		n, _ := sess.Get("visits").(int)
		return c.SendString(user + "|" + itoa(n))
	})
	app.Get("/logout", func(c fiberv3.Ctx) error {
		return sessionv3.FromContext(c).Destroy()
	})
	ln := listen(t)
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

func runSessionFlow(t *testing.T, store sessionstore.Store, url string) {
	jar, err := cookiejar.New(nil)
	mustNil(t, err)
	c := &http.Client{Jar: jar}

	_, body := get(t, c, url+"/visit")
	first := cookie(t, c, url)
	if body != "1" || first == "" {
		t.Fatalf("first visit: body %q, cookie %q; want 1 and a session cookie", body, first)
	}
	if _, body = get(t, c, url+"/visit"); body != "2" {
		t.Fatalf("second visit = %q, want 2: the session did not round-trip through the store", body)
	}
	wantStored(t, store, first, true)

	get(t, c, url+"/login?user=ann")
	renewed := cookie(t, c, url)
	if renewed == "" || renewed == first {
		t.Fatalf("login kept session id %q (now %q): want a new one", first, renewed)
	}
	wantStored(t, store, first, false)
	wantStored(t, store, renewed, true)
	if _, body = get(t, c, url+"/whoami"); body != "ann|2" {
		t.Fatalf("after login whoami = %q, want ann|2: the data follows the new id", body)
	}

	other, err := cookiejar.New(nil)
	mustNil(t, err)
	if _, body = get(t, &http.Client{Jar: other}, url+"/whoami"); body != "|0" {
		t.Fatalf("another client sees %q", body)
	}

	resp, _ := get(t, c, url+"/logout")
	var cleared bool
	for _, ck := range resp.Cookies() {
		cleared = cleared || ck.Name == "session_id" && ck.MaxAge < 0
	}
	if !cleared || cookie(t, c, url) != "" {
		t.Fatalf("logout cookies %v: want session_id expired", resp.Cookies())
	}
	wantStored(t, store, renewed, false)
	if _, body = get(t, c, url+"/whoami"); body != "|0" {
		t.Fatalf("after logout whoami = %q, want |0", body)
	}
}

// wantStored checks whether the store holds the Fiber session id.
func wantStored(t *testing.T, store sessionstore.Store, id string, want bool) {
	t.Helper()
	_, found, err := store.Load(context.Background(), fiberstore.StoreKey(id))
	mustNil(t, err)
	if found != want {
		t.Fatalf("session %q stored: %v, want %v", id, found, want)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	return ln
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	mustNil(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return resp, string(body)
}

// cookie returns the session_id cookie the client holds for url, or "".
func cookie(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	mustNil(t, err)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == "session_id" {
			return ck.Value
		}
	}
	return ""
}

func itoa(n int) string {
	return fmt.Sprint(n)
}
