package ginstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore/ginstore"
	"github.com/sessionstore/sessionstore/memory"
)

// gin-contrib/sessions over any store: memory here, or a redis, postgres,
// mongo or memcache store.
func Example() {
	store := ginstore.New(memory.New(memory.Options{}))
	store.Options(sessions.Options{ // Options replaces them all: keep HttpOnly and SameSite
		Path: "/", MaxAge: 30 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: true, // the site is served over HTTPS
	})
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		// A new id at login, against session fixation.
		if err := store.RenewID(c.Request.Context(), s); err != nil {
			c.AbortWithError(500, err)
			return
		}
		s.Set("user", c.Query("user"))
		if err := s.Save(); err != nil {
			c.AbortWithError(500, err)
			return
		}
		c.String(200, "welcome %s", c.Query("user"))
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	fmt.Println(w.Body.String(), len(w.Result().Cookies()))
	// Output: welcome ann 1
}
