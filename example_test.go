package sessionstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// The whole cycle: New, then Handler, then FromContext. A first GET gets no
// cookie (nothing was written); a POST writes to the session and gets the
// cookie; the next GET, carrying it, reads the session back.
func Example() {
	store := memory.New(memory.Options{}) // or redis.New, postgres.New, ...
	defer store.Close()
	m := sessionstore.New(store)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		fmt.Fprintf(w, "cart: %q", s.GetString("item"))
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Put("item", r.PostFormValue("item"))
		fmt.Fprint(w, "added")
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	client := srv.Client()
	show := func(res *http.Response, err error) *http.Response {
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Printf("%s %s: %s, %d cookie(s) set\n", res.Request.Method, res.Request.URL.Path, body, len(res.Cookies()))
		return res
	}

	show(client.Get(srv.URL + "/"))

	res := show(client.PostForm(srv.URL+"/cart", url.Values{"item": {"tea"}}))
	cookie := res.Cookies()[0]
	fmt.Println(cookie.Name, "HttpOnly:", cookie.HttpOnly, "SameSite=Lax:", cookie.SameSite == http.SameSiteLaxMode)

	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.AddCookie(cookie)
	show(client.Do(req))
	// Output:
	// GET /: cart: "", 0 cookie(s) set
	// POST /cart: added, 1 cookie(s) set
	// session HttpOnly: true SameSite=Lax: true
	// GET /: cart: "tea", 0 cookie(s) set
}

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
