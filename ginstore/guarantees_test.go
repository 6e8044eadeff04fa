package ginstore_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore/ginstore"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
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
	r.Use(sessions.Sessions(frameworktest.CookieName, ginstore.New(store)))
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
	frameworktest.RunAdapter(t, srv.URL, store)
}
