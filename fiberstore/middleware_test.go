package fiberstore_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
	"github.com/sessionstore/sessionstore/memory"
)

// TestMiddleware runs a real Fiber v3 app over HTTP with
// fiberstore.Middleware, on the memory store (also encrypted at rest) and on Redis and PostgreSQL in
// containers, and checks the Manager's guarantees through it
// (frameworktest.Run): no cookie and no record for a reader; an HttpOnly,
// SameSite=Lax cookie at the first write; the Manager's codec; a foreign
// cookie is a new session; LogIn renews the id and SessionsOf lists it;
// RevokeSession and Destroy end it. Then concurrent requests of one session
// merge, and a login racing them keeps every write (RunConcurrent).
func TestMiddleware(t *testing.T) {
	for _, b := range frameworktest.Cases() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := b.NewApp(t)
			base := serveMiddleware(t, a.M, func(c fiber.Ctx) error {
				q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
				status, body := a.Serve(c.Path(), q, fiberstore.Session(c))
				return c.Status(status).SendString(body)
			})
			frameworktest.Run(t, a, base)
			frameworktest.RunConcurrent(t, a, base)
		})
	}
}

// serveMiddleware serves every path with h behind fiberstore.Middleware(m)
// on a real listener, and returns the base URL.
func serveMiddleware(t *testing.T, m *sessionstore.Manager, h fiber.Handler) string {
	app := fiber.New()
	app.Use(fiberstore.Middleware(m))
	app.Get("/*", h)
	ln := listen(t)
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

// TestMiddlewareHandlerError: a handler that returns an error after
// writing to its session has the session saved, as a net/http handler
// answering 500 under Manager.Handler does, and Fiber's ErrorHandler answers
// with the cookie kept.
func TestMiddlewareHandlerError(t *testing.T) {
	m := sessionstore.New(memory.New(memory.Options{}))
	base := serveMiddleware(t, m, func(c fiber.Ctx) error {
		fiberstore.Session(c).Put("tried", true)
		return fiber.NewError(http.StatusTeapot, "no coffee")
	})
	rp := frameworktest.Get(t, base, "/x", "")
	if rp.Status != http.StatusTeapot || rp.Body != "no coffee" || rp.Cookie == nil {
		t.Fatalf("got %d %q, cookie %v; want 418 from Fiber's ErrorHandler with the session cookie", rp.Status, rp.Body, rp.Cookie)
	}
}

// failingStore fails every Save.
type failingStore struct{ sessionstore.Store }

var errDown = errors.New("store down")

func (failingStore) Save(context.Context, string, []byte, time.Time) error { return errDown }

// TestMiddlewareSaveError: a store error at the save goes to the Manager's
// ErrorHandler, whose answer replaces the handler's, with no cookie.
func TestMiddlewareSaveError(t *testing.T) {
	m := sessionstore.New(failingStore{memory.New(memory.Options{})})
	var seen error
	m.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		seen = err
		http.Error(w, "session trouble", http.StatusServiceUnavailable)
	}
	base := serveMiddleware(t, m, func(c fiber.Ctx) error {
		fiberstore.Session(c).Put("k", 1)
		return c.SendString("handler's page")
	})
	rp := frameworktest.Get(t, base, "/x", "")
	if rp.Status != http.StatusServiceUnavailable || strings.TrimSpace(rp.Body) != "session trouble" || rp.Cookie != nil || !errors.Is(seen, errDown) {
		t.Fatalf("got %d %q, cookie %v, error %v; want the ErrorHandler's 503, no cookie, an error wrapping the store's", rp.Status, rp.Body, rp.Cookie, seen)
	}
}

// TestMiddlewareSecure: the Manager's SecureAuto sees through the request
// fiberstore.Middleware builds: behind a trusted proxy that says
// X-Forwarded-Proto: https the cookie gets Secure, and the same header from
// an untrusted peer, or no header, gives none.
func TestMiddlewareSecure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
		proto   string
		want    bool
	}{
		{"trusted proxy, https", "127.0.0.0/8", "https", true},
		{"trusted proxy, http", "127.0.0.0/8", "http", false},
		{"untrusted peer, https", "10.0.0.0/8", "https", false},
		{"no proxy configured", "", "https", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessionstore.New(memory.New(memory.Options{}))
			if tc.trusted != "" {
				m.Cookie.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tc.trusted)}
			}
			base := serveMiddleware(t, m, func(c fiber.Ctx) error {
				fiberstore.Session(c).Put("k", 1)
				return c.SendString("ok")
			})
			req, err := http.NewRequest("GET", base+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Forwarded-Proto", tc.proto)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var ck *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == frameworktest.CookieName {
					ck = c
				}
			}
			if ck == nil || ck.Secure != tc.want {
				t.Fatalf("cookie %v, want Secure %v", ck, tc.want)
			}
		})
	}
}

// TestMiddlewareSecureOverTLS: a request that reached Fiber over TLS gets a
// Secure cookie (SecureAuto reads the TLS state the middleware passes on).
func TestMiddlewareSecureOverTLS(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate and a client trusting it
	cfg, client := ts.TLS, ts.Client()
	ts.Close()

	m := sessionstore.New(memory.New(memory.Options{}))
	app := fiber.New()
	app.Use(fiberstore.Middleware(m))
	app.Get("/", func(c fiber.Ctx) error {
		fiberstore.Session(c).Put("k", 1)
		return c.SendString("ok")
	})
	ln := tls.NewListener(listen(t), cfg)
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("cookies %v over TLS, want one Secure, HttpOnly session cookie", cookies)
	}
}

// TestMiddlewareSaveErrorDefault: without an ErrorHandler a store error at
// the save is logged with the Manager's Logger and answered 500, as under
// Manager.Handler, with no cookie.
func TestMiddlewareSaveErrorDefault(t *testing.T) {
	var logged bytes.Buffer
	m := sessionstore.New(failingStore{memory.New(memory.Options{})})
	m.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	base := serveMiddleware(t, m, func(c fiber.Ctx) error {
		fiberstore.Session(c).Put("k", 1)
		return c.SendString("handler's page")
	})
	rp := frameworktest.Get(t, base, "/x", "")
	if rp.Status != http.StatusInternalServerError || strings.TrimSpace(rp.Body) != "Internal Server Error" || rp.Cookie != nil {
		t.Fatalf("got %d %q, cookie %v; want 500 Internal Server Error and no cookie", rp.Status, rp.Body, rp.Cookie)
	}
	if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), errDown.Error()) {
		t.Fatalf("logged %q, want an ERROR line with the store's error", logged.String())
	}
}
