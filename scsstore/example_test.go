package scsstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/scsstore"
)

// scs's SessionManager over any store: memory here, or a redis, postgres,
// mysql, sqlite, mongo or memcache store.
func Example() {
	store := memory.New(memory.Options{})
	sm := scs.New()
	sm.Store = scsstore.New(store)
	sm.Cookie.Secure = true // the site is served over HTTPS; HttpOnly and SameSite=Lax are scs's defaults
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil { // a new token at login
			http.Error(w, err.Error(), 500)
			return
		}
		sm.Put(r.Context(), "user", r.URL.Query().Get("user"))
		fmt.Fprint(w, "welcome ", r.URL.Query().Get("user"))
	})
	handler := sm.LoadAndSave(mux) // http.ListenAndServe(":8080", handler)

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/login?user=ann", nil))
	c := w.Result().Cookies()[0]
	fmt.Println(w.Body.String(), c.HttpOnly, c.Secure)
	// Output: welcome ann true true
}
