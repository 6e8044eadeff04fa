package echotest_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/memory"
)

// echo-contrib/session takes a gorillastore.Store as it is, over any store:
// memory here, or a redis, postgres, mongo or memcache store.
func Example() {
	gs := gorillastore.New(memory.New(memory.Options{}))
	gs.Options.Secure = true // the site is served over HTTPS; HttpOnly and SameSite=Lax are the defaults
	e := echo.New()
	e.Use(session.Middleware(gs))
	e.GET("/login", func(c echo.Context) error {
		s, err := session.Get("session", c)
		if err != nil {
			return err
		}
		// A new id at login, against session fixation.
		if err := gs.RenewID(c.Request().Context(), s); err != nil {
			return err
		}
		s.Values["user"] = c.QueryParam("user")
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(200, "welcome "+c.QueryParam("user"))
	})

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	fmt.Println(w.Body.String(), len(w.Result().Cookies()))
	// Output: welcome ann 1
}
