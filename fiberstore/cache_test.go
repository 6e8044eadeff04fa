package fiberstore_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/cache"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
)

// TestFiberV3Cache runs Fiber v3's cache middleware over HTTP on every
// backend, on a path longer than any store id: the cache keys it with the
// path, which the Storage hashes.
func TestFiberV3Cache(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			app := fiberv3.New()
			app.Use(cache.New(cache.Config{
				Storage:    fiberstore.New(b.NewStore(t), fiberstore.Options{}),
				Expiration: time.Minute,
			}))
			app.Get("/*", func(c fiberv3.Ctx) error {
				return c.SendString(itoa(int(calls.Add(1))))
			})
			ln := listen(t)
			done := make(chan error, 1)
			go func() { done <- app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
			t.Cleanup(func() {
				mustNil(t, app.Shutdown())
				<-done
			})
			url := "http://" + ln.Addr().String() + "/" + strings.Repeat("segment/", 50)
			for i, want := range []string{"miss", "hit"} {
				resp, body := get(t, http.DefaultClient, url)
				if got := resp.Header.Get("X-Cache"); got != want || body != "1" {
					t.Fatalf("request %d: X-Cache %q, body %q; want %q and the first response", i+1, got, body, want)
				}
			}
		})
	}
}
