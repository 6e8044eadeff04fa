package fiberstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/memory"
)

// TestFiberSessionGuarantees backs the README's column for Fiber's own
// session middleware over fiberstore.New (Fiber v3, defaults untouched but
// for the Storage), over the real middleware: what holds and what does not.
func TestFiberSessionGuarantees(t *testing.T) {
	store := memory.New(memory.Options{})
	app := fiber.New()
	app.Use(session.New(session.Config{Storage: fiberstore.New(store, fiberstore.Options{})}))
	app.Get("/read", func(c fiber.Ctx) error {
		n, _ := session.FromContext(c).Get("visits").(int)
		return c.SendString(itoa(n))
	})
	get := func(cookie string) *http.Response {
		req := httptest.NewRequest("GET", "/read", nil)
		if cookie != "" {
			req.Header.Set("Cookie", "session_id="+cookie)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	sessionCookie := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "session_id" {
				return c
			}
		}
		return nil
	}

	t.Run("a reader gets a cookie and a record", func(t *testing.T) {
		before := count(t, store)
		for range 3 {
			if sessionCookie(get("")) == nil {
				t.Fatal("an anonymous reader got no cookie: the README's table says it does")
			}
		}
		if n := count(t, store) - before; n != 3 {
			t.Fatalf("3 anonymous reads stored %d records; the README's table says 3", n)
		}
	})
	t.Run("the cookie is not HttpOnly by default", func(t *testing.T) {
		c := sessionCookie(get(""))
		if c == nil || c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie %v: the README says Fiber's default is SameSite=Lax without HttpOnly (set CookieHTTPOnly)", c)
		}
	})
	t.Run("a foreign cookie is a new session", func(t *testing.T) {
		resp := get("zzz")
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusOK || c == nil || c.Value == "zzz" {
			t.Fatalf("foreign cookie: %d, cookie %v; want 200 and a fresh id", resp.StatusCode, c)
		}
	})
}
