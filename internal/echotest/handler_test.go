package echotest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
)

// TestEchoInsideHandler runs an echo server inside Manager.Handler over
// HTTP, on the memory store (also encrypted at rest) and on Redis and PostgreSQL in containers, each
// route reading its session with
// sessionstore.FromContext(c.Request().Context()), and checks the Manager's
// guarantees through echo (frameworktest.Run and RunConcurrent): no cookie
// and no record for a reader, an HttpOnly, SameSite=Lax cookie, the
// Manager's codec, a foreign cookie as a new session, LogIn renewal listed
// by SessionsOf, revocation, Destroy, and concurrent requests merged, a
// login racing them included.
func TestEchoInsideHandler(t *testing.T) {
	for _, b := range frameworktest.Cases() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := b.NewApp(t)
			e := echo.New()
			for _, p := range frameworktest.Paths {
				e.GET(p, func(c echo.Context) error {
					status, body := a.Serve(c.Path(), c.QueryParams(), sessionstore.FromContext(c.Request().Context()))
					return c.String(status, body)
				})
			}
			srv := httptest.NewServer(a.M.Handler(e))
			t.Cleanup(srv.Close)
			frameworktest.Run(t, a, srv.URL)
			frameworktest.RunConcurrent(t, a, srv.URL)
		})
	}
}

// TestChiInsideHandler does the same with a chi router; the Manager's
// Handler is chi's middleware (r.Use(m.Handler)).
func TestChiInsideHandler(t *testing.T) {
	for _, b := range frameworktest.Cases() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := b.NewApp(t)
			r := chi.NewRouter()
			r.Use(a.M.Handler)
			for _, p := range frameworktest.Paths {
				r.Get(p, func(w http.ResponseWriter, r *http.Request) {
					status, body := a.Serve(r.URL.Path, r.URL.Query(), sessionstore.FromContext(r.Context()))
					w.WriteHeader(status)
					_, _ = w.Write([]byte(body))
				})
			}
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			frameworktest.Run(t, a, srv.URL)
			frameworktest.RunConcurrent(t, a, srv.URL)
		})
	}
}
