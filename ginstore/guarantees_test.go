package ginstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/ginstore"
	"github.com/sessionstore/sessionstore/memory"
)

// TestGinContribGuarantees backs the README's column for gin-contrib/sessions
// over ginstore, over the real middleware: a handler that only reads (no
// Save) sets no cookie and stores no record, and the first Save sets an
// HttpOnly, SameSite=Lax cookie (ginstore's defaults; gorilla's own
// CookieStore sets SameSite=None; Secure and no HttpOnly).
func TestGinContribGuarantees(t *testing.T) {
	store := memory.New(memory.Options{})
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, ginstore.New(store)))
	r.GET("/read", func(c *gin.Context) {
		n, _ := sessions.Default(c).Get("visits").(int)
		c.String(200, "%d", n)
	})
	r.GET("/visit", func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := s.Get("visits").(int)
		s.Set("visits", n+1)
		if err := s.Save(); err != nil {
			c.AbortWithError(500, err)
			return
		}
		c.String(200, "%d", n+1)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	for range 3 {
		resp, body := get(t, http.DefaultClient, srv.URL+"/read")
		if resp.StatusCode != 200 || body != "0" || len(resp.Cookies()) != 0 {
			t.Fatalf("anonymous read: %d %q, cookies %v; want 200, 0 and no cookie", resp.StatusCode, body, resp.Cookies())
		}
	}
	if n := countRecords(t, store); n != 0 {
		t.Fatalf("3 anonymous reads stored %d records, want 0", n)
	}
	resp, _ := get(t, http.DefaultClient, srv.URL+"/visit")
	ck := findCookie(resp.Cookies())
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("cookie %v: want HttpOnly, SameSite=Lax, no Secure (ginstore's defaults)", ck)
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
