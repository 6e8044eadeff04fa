package echotest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/gorillastore"
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
		s, err := session.Get(cookieName, c)
		if err != nil {
			return err
		}
		n, _ := s.Values["visits"].(int)
		return c.String(200, strconv.Itoa(n))
	})
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
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	for range 3 {
		resp, body := get(t, http.DefaultClient, srv.URL+"/read")
		if body != "0" || len(resp.Cookies()) != 0 {
			t.Fatalf("anonymous read: %q, cookies %v; want 0 and no cookie", body, resp.Cookies())
		}
	}
	if n := countRecords(t, store); n != 0 {
		t.Fatalf("3 anonymous reads stored %d records, want 0", n)
	}
	resp, _ := get(t, http.DefaultClient, srv.URL+"/visit")
	ck := findCookie(resp.Cookies())
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("cookie %v: want HttpOnly, SameSite=Lax, no Secure (gorillastore's defaults)", ck)
	}
	if n := countRecords(t, store); n != 1 {
		t.Fatalf("one write stored %d records, want 1", n)
	}
}

func countRecords(t *testing.T, s sessionstore.Store) int {
	t.Helper()
	n := 0
	if err := s.(sessionstore.Iterator).Iterate(context.Background(), func(string, sessionstore.Record) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}
