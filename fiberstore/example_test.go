package fiberstore_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	fiberv2 "github.com/gofiber/fiber/v2"
	sessionv2 "github.com/gofiber/fiber/v2/middleware/session"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/memory"
)

// Fiber v3's session middleware over any store: memory here, or a redis,
// postgres, mongo or memcache store.
func Example() {
	store := memory.New(memory.Options{})
	app := fiber.New()
	app.Use(session.New(session.Config{
		Storage:     fiberstore.New(store, fiberstore.Options{}),
		IdleTimeout: 30 * time.Minute,
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
