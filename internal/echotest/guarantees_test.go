package echotest_test

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
	"github.com/sessionstore/sessionstore/memory"
)

// TestEchoContribGuarantees backs the README's column for echo-contrib/session
// over gorillastore, over the real middleware: a handler that only reads (no
// Save) sets no cookie and stores no record, and the first Save sets an
// HttpOnly, SameSite=Lax cookie (gorillastore's defaults; gorilla's own
// CookieStore sets SameSite=None; Secure and no HttpOnly).
func TestEchoContribGuarantees(t *testing.T) {
	store := memory.New(memory.Options{})
	e := echo.New()
	e.Use(session.Middleware(gorillastore.New(store)))
	e.GET("/read", func(c echo.Context) error {
		s, err := session.Get(frameworktest.CookieName, c)
		if err != nil {
			return err
		}
		n, _ := s.Values["visits"].(int)
		return c.String(200, strconv.Itoa(n))
	})
	e.GET("/visit", func(c echo.Context) error {
		s, err := session.Get(frameworktest.CookieName, c)
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
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	frameworktest.RunAdapter(t, srv.URL, store)
}
