package gorillastore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/memory"
)

// A gorilla/sessions Store over any store: memory here, or a redis,
// postgres, mysql, sqlite, mongo or memcache store.
func Example() {
	gs := gorillastore.New(memory.New(memory.Options{}))
	gs.Options.Secure = true // the site is served over HTTPS; HttpOnly and SameSite=Lax are the defaults
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := gs.Get(r, "session-name")
		if err != nil { // a store error only: a foreign cookie is a new session
			http.Error(w, err.Error(), 500)
			return
		}
		session.Values["user"] = "ann"
		if err := session.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	c := w.Result().Cookies()[0]
	fmt.Println(c.HttpOnly, c.SameSite == http.SameSiteLaxMode, c.Secure)
	// Output: true true true
}
