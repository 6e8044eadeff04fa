package ginstore_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// A gin engine inside Manager.Handler keeps every rule of the Manager (no
// cookie for readers, HttpOnly and SameSite=Lax, LogIn and SessionsOf, the
// Manager's codec, concurrent requests merged); handlers read the session
// from the request's context. No adapter and no gin-contrib are needed.
func Example_insideManagerHandler() {
	m := sessionstore.New(memory.New(memory.Options{}))
	r := gin.New()
	r.GET("/login", func(c *gin.Context) {
		s := sessionstore.FromContext(c.Request.Context())
		s.LogIn(c.Query("user"), nil) // a new id, listed by m.SessionsOf
		c.String(200, "welcome %s", c.Query("user"))
	})
	handler := m.Handler(r) // http.ListenAndServe(":8080", handler)

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	c := w.Result().Cookies()[0]
	fmt.Println(w.Body.String(), c.HttpOnly, c.SameSite)
	// Output: welcome ann true 2
}
