package fiberstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	fiberv2 "github.com/gofiber/fiber/v2"
	sessionv2 "github.com/gofiber/fiber/v2/middleware/session"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/memory"
)

// Fiber v3's session middleware over any store: memory here, or a redis,
// postgres, mongo or memcache store.
func Example() {
	store := memory.New(memory.Options{})
	app := fiber.New()
	app.Use(session.New(session.Config{
		Storage:        fiberstore.New(store, fiberstore.Options{}),
		IdleTimeout:    30 * time.Minute,
		CookieHTTPOnly: true, // Fiber's default is false: scripts could read the id
		CookieSecure:   true, // the site is served over HTTPS
	}))
	app.Get("/login", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		if err := sess.Regenerate(); err != nil { // a new id at login, against fixation
			return err
		}
		sess.Set("user", c.Query("user"))
		return c.SendString("welcome " + c.Query("user"))
	})

	resp, err := app.Test(httptest.NewRequest("GET", "/login?user=ann", nil))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body), len(resp.Cookies()))
	// Output: welcome ann 1
}

// Fiber v2's session middleware takes the same Storage.
func Example_fiberV2() {
	sessions := sessionv2.New(sessionv2.Config{
		Storage:    fiberstore.New(memory.New(memory.Options{}), fiberstore.Options{}),
		Expiration: 24 * time.Hour,
	})
	app := fiberv2.New()
	app.Get("/", func(c *fiberv2.Ctx) error {
		sess, err := sessions.Get(c)
		if err != nil {
			return err
		}
		n, _ := sess.Get("visits").(int)
		sess.Set("visits", n+1)
		if err := sess.Save(); err != nil {
			return err
		}
		return c.SendString(fmt.Sprint("visit ", n+1))
	})

	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: visit 1
}

// fiberstore.Middleware runs the Manager's session lifecycle in Fiber v3:
// no cookie and no record for a visitor who only reads, an HttpOnly,
// SameSite=Lax cookie (Secure over TLS), LogIn and SessionsOf, the
// Manager's codec, concurrent requests merged.
func ExampleMiddleware() {
	m := sessionstore.New(memory.New(memory.Options{}))
	app := fiber.New()
	app.Use(fiberstore.Middleware(m))
	app.Get("/", func(c fiber.Ctx) error {
		return c.SendString("hello " + fiberstore.Session(c).GetString("user"))
	})
	app.Get("/login", func(c fiber.Ctx) error {
		s := fiberstore.Session(c)
		s.LogIn(c.Query("user"), nil) // a new id, listed by m.SessionsOf
		s.Put("user", c.Query("user"))
		return c.SendString("welcome " + c.Query("user"))
	})

	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		panic(err)
	}
	fmt.Println("cookies for a reader:", len(resp.Cookies()))
	resp, err = app.Test(httptest.NewRequest("GET", "/login?user=ann", nil))
	if err != nil {
		panic(err)
	}
	c := resp.Cookies()[0]
	owned, _ := m.SessionsOf(context.Background(), "ann")
	fmt.Println(c.HttpOnly, c.SameSite, len(owned))
	// Output:
	// cookies for a reader: 0
	// true 2 1
}
