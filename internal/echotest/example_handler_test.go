package echotest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// An echo server inside Manager.Handler keeps every rule of the Manager;
// handlers read the session from the request's context, and echo-contrib
// is not needed.
func Example_echoInsideManagerHandler() {
	m := sessionstore.New(memory.New(memory.Options{}))
	e := echo.New()
	e.GET("/login", func(c echo.Context) error {
		s := sessionstore.FromContext(c.Request().Context())
		s.LogIn(c.QueryParam("user"), nil) // a new id, listed by m.SessionsOf
		return c.String(200, "welcome "+c.QueryParam("user"))
	})
	handler := m.Handler(e) // http.ListenAndServe(":8080", handler)

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	c := w.Result().Cookies()[0]
	fmt.Println(w.Body.String(), c.HttpOnly, c.SameSite)
	// Output: welcome ann true 2
}

// chi takes Manager.Handler as a middleware of its own.
func Example_chi() {
	m := sessionstore.New(memory.New(memory.Options{}))
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.LogIn(r.URL.Query().Get("user"), nil) // a new id, listed by m.SessionsOf
		fmt.Fprintf(w, "welcome %s", r.URL.Query().Get("user"))
	})
	// http.ListenAndServe(":8080", r)

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	c := w.Result().Cookies()[0]
	fmt.Println(w.Body.String(), c.HttpOnly, c.SameSite)
	// Output: welcome ann true 2
}
