package ginstore_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/frameworktest"
)

// TestGinInsideHandler runs a gin engine inside Manager.Handler over HTTP,
// on the memory store (also encrypted at rest) and on Redis and PostgreSQL in containers, each route
// reading its session with sessionstore.FromContext(c.Request.Context()),
// and checks the Manager's guarantees through gin (frameworktest.Run and
// RunConcurrent): no cookie and no record for a reader, an HttpOnly,
// SameSite=Lax cookie, the Manager's codec, a foreign cookie as a new
// session, LogIn renewal listed by SessionsOf, revocation, Destroy, and
// concurrent requests merged, a login racing them included.
func TestGinInsideHandler(t *testing.T) {
	for _, b := range frameworktest.Cases() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := b.NewApp(t)
			r := gin.New()
			for _, p := range frameworktest.Paths {
				r.GET(p, func(c *gin.Context) {
					status, body := a.Serve(c.FullPath(), c.Request.URL.Query(), sessionstore.FromContext(c.Request.Context()))
					c.String(status, body)
				})
			}
			srv := httptest.NewServer(a.M.Handler(r))
			t.Cleanup(srv.Close)
			frameworktest.Run(t, a, srv.URL)
			frameworktest.RunConcurrent(t, a, srv.URL)
		})
	}
}
