package sessionstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// A visit counter: the classic first session example.
func ExampleManager_Handler() {
	store := memory.New(memory.Options{})
	defer store.Close()
	m := sessionstore.New(store)

	counter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Update("visits", func(old any) any {
			n, _ := old.(int)
			return n + 1
		})
		fmt.Fprintf(w, "visit %d", s.GetInt("visits"))
	})
	h := m.Handler(counter) // http.ListenAndServe(":8080", h)

	var cookie *http.Cookie
	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			cookie = cs[0] // set once, when the session is created
		}
		fmt.Println(rec.Body)
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Log a user out everywhere: walk the stored sessions and revoke theirs.
// Iterate reports store keys (hashes of the ids), which Revoke takes as is.
func ExampleManager_Revoke() {
	store := memory.New(memory.Options{})
	defer store.Close()
	m := sessionstore.New(store)
	login := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.RenewID()
		s.Put("user", r.URL.Query().Get("user"))
	}))
	for _, u := range []string{"ann", "bob", "ann"} {
		login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login?user="+u, nil))
	}

	ctx := context.Background()
	var keys []string
	err := m.Iterate(ctx, func(s sessionstore.StoredSession) bool {
		if s.Values["user"] == "ann" {
			keys = append(keys, s.Key)
		}
		return true
	})
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		if err := m.Revoke(ctx, k); err != nil {
			panic(err)
		}
	}
	n, _ := sessionstore.Count(ctx, store)
	fmt.Println(len(keys), "revoked,", n, "left")
	// Output: 2 revoked, 1 left
}

// Flash messages survive a redirect, and each is shown once.
func ExampleSession_Flashes() {
	s := new(sessionstore.Session) // in a handler: sessionstore.FromContext(r.Context())
	s.Flash("error", "Wrong password.")
	s.Flash("info", "Try again.")
	for _, f := range s.Flashes("error") {
		fmt.Println(f.Category+":", f.Message)
	}
	fmt.Println(len(s.Flashes()), "left")
	// Output:
	// error: Wrong password.
	// 1 left
}
