package fiberstore_test

import (
	"net"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/valyala/fasthttp"
)

// BenchmarkFiberRequest measures one request of a visitor with a session
// through a Fiber v3 app, on the memory store, in process (the app's
// fasthttp handler called directly, no network): the bare handler, then
// fiberstore.Middleware (the Manager's lifecycle), then Fiber's own session
// middleware over fiberstore.New. "read" reads a counter, "write"
// increments it.
//
//	./scripts/test -run '^$' -bench FiberRequest -benchtime 2s ./fiberstore/
func BenchmarkFiberRequest(b *testing.B) {
	type setup struct {
		name   string
		cookie string // the session cookie's name, "" for none
		app    func() (*fiber.App, func(c fiber.Ctx) int, func(c fiber.Ctx, n int))
	}
	setups := []setup{
		{"bare", "", func() (*fiber.App, func(fiber.Ctx) int, func(fiber.Ctx, int)) {
			return fiber.New(), func(fiber.Ctx) int { return 0 }, func(fiber.Ctx, int) {}
		}},
		{"fiberstore.Middleware", "session", func() (*fiber.App, func(fiber.Ctx) int, func(fiber.Ctx, int)) {
			app := fiber.New()
			app.Use(fiberstore.Middleware(sessionstore.New(memory.New(memory.Options{}))))
			return app,
				func(c fiber.Ctx) int { return fiberstore.Session(c).GetInt("visits") },
				func(c fiber.Ctx, n int) { fiberstore.Session(c).Put("visits", n) }
		}},
		{"fiber session over fiberstore.New", "session_id", func() (*fiber.App, func(fiber.Ctx) int, func(fiber.Ctx, int)) {
			app := fiber.New()
			app.Use(session.New(session.Config{Storage: fiberstore.New(memory.New(memory.Options{}), fiberstore.Options{}), CookieHTTPOnly: true}))
			return app,
				func(c fiber.Ctx) int { n, _ := session.FromContext(c).Get("visits").(int); return n },
				func(c fiber.Ctx, n int) { session.FromContext(c).Set("visits", n) }
		}},
	}
	for _, s := range setups {
		for _, write := range []bool{false, true} {
			name := s.name + "/read"
			if write {
				name = s.name + "/write"
			}
			b.Run(name, func(b *testing.B) {
				app, read, set := s.app()
				app.Get("/", func(c fiber.Ctx) error {
					n := read(c)
					if write || c.Query("seed") != "" {
						set(c, n+1)
					}
					return c.SendString("ok")
				})
				h := app.Handler()
				var ctx fasthttp.RequestCtx
				ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
				ctx.Request.SetRequestURI("/?seed=1")
				h(&ctx) // the visitor's first write: a session and its cookie
				if s.cookie != "" {
					v := ctx.Response.Header.PeekCookie(s.cookie)
					if len(v) == 0 {
						b.Fatalf("no %s cookie set: %q", s.cookie, ctx.Response.Header.String())
					}
					c := fasthttp.AcquireCookie()
					if err := c.ParseBytes(v); err != nil {
						b.Fatal(err)
					}
					ctx.Request.Header.SetCookie(s.cookie, string(c.Value()))
				}
				ctx.Request.SetRequestURI("/")
				b.ReportAllocs()
				for b.Loop() {
					ctx.Response.Reset()
					h(&ctx)
					if ctx.Response.StatusCode() != 200 {
						b.Fatalf("status %d", ctx.Response.StatusCode())
					}
				}
				if write && s.cookie != "" && strings.Contains(ctx.Response.Header.String(), "Set-Cookie: "+s.cookie+"=;") {
					b.Fatal("the session was dropped")
				}
			})
		}
	}
}
