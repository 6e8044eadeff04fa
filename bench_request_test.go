package sessionstore_test

import (
	"context"
	"encoding/gob"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/sessions"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// BenchmarkRequest measures one request through each library's middleware
// with an in-process store, side by side: sessionstore (Manager.Handler over
// the memory store), scs (LoadAndSave over its memstore) and gorilla/sessions
// (CookieStore), each doing the same work on the same 5-key session, and a
// bare handler as the floor:
//
//	read       a request on an existing session that reads two values
//	increment  a request that increments a counter in it
//	nocookie   a request without a cookie that does not touch the session;
//	           also measured: withcontext, a middleware that only puts a
//	           value in the request's context, the least any does
//
// Run: go test -run '^$' -bench Request -benchmem .
func BenchmarkRequest(b *testing.B) {
	// gob (scs, gorilla) needs the concrete types stored in interface
	// values registered.
	registerGobTime.Do(func() { gob.Register(time.Time{}) })
	libs := []struct {
		name string
		new  func(b *testing.B) benchLib
	}{
		{"sessionstore", newSessionstoreLib},
		{"scs", newSCSLib},
		{"gorilla", newGorillaLib},
	}
	for _, work := range []string{"read", "increment", "nocookie"} {
		b.Run(work+"/bare", func(b *testing.B) {
			runRequests(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}), httptest.NewRequest("GET", "/", nil))
		})
		if work == "nocookie" {
			// The least any middleware that hands the handler a value in
			// the request context pays: one context.WithValue and the
			// copy of the request that r.WithContext makes.
			b.Run(work+"/withcontext", func(b *testing.B) {
				runRequests(b, withValue(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "ok")
				})), httptest.NewRequest("GET", "/", nil))
			})
		}
		for _, lib := range libs {
			b.Run(work+"/"+lib.name, func(b *testing.B) {
				l := lib.new(b)
				h := l.handler(work)
				req := httptest.NewRequest("GET", "/", nil)
				if work != "nocookie" {
					req.Header.Set("Cookie", l.cookie)
				}
				runRequests(b, h, req)
			})
		}
	}
}

type benchKey struct{}

// withValue is the smallest context middleware.
func withValue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), benchKey{}, 1)))
	})
}

// runRequests serves req with h b.N times. Besides ns/op it reports
// cpu-ns/op, the CPU time of the process per request (the garbage
// collector's included): on a machine that other jobs keep busy, ns/op
// also counts the time they held the CPU, cpu-ns/op does not.
func runRequests(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	start := processCPU()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// benchLib is one library set up for the benchmark: a handler per kind of
// work and the cookie of a stored 5-key session.
type benchLib struct {
	handler func(work string) http.Handler
	cookie  string
}

// benchValues is the typical session: a user id, a name, a login time, a
// CSRF token and a counter.
func benchValues() map[string]any {
	return map[string]any{
		"user_id": int64(1234567),
		"name":    "Alice Example",
		"login":   time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		"token":   []byte(strings.Repeat("t", 32)),
		"n":       0,
	}
}

// cookieOf runs a request that stores the typical session and returns the
// cookie the response sets.
func cookieOf(b *testing.B, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		b.Fatalf("setup: cookies %v", cs)
	}
	return cs[0].Name + "=" + cs[0].Value
}

func newSessionstoreLib(b *testing.B) benchLib {
	st := memory.New(memory.Options{})
	b.Cleanup(func() { st.Close() })
	m := sessionstore.New(st)
	setup := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		for k, v := range benchValues() {
			s.Put(k, v)
		}
	}))
	handlers := map[string]http.Handler{
		"read": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := sessionstore.FromContext(r.Context())
			io.WriteString(w, s.GetString("name"))
			_ = s.GetInt64("user_id")
		})),
		"increment": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := sessionstore.FromContext(r.Context())
			s.Put("n", s.GetInt("n")+1)
			io.WriteString(w, "ok")
		})),
		"nocookie": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})),
	}
	return benchLib{handler: func(w string) http.Handler { return handlers[w] }, cookie: cookieOf(b, setup)}
}

func newSCSLib(b *testing.B) benchLib {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	setup := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range benchValues() {
			sm.Put(r.Context(), k, v)
		}
	}))
	handlers := map[string]http.Handler{
		"read": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "name"))
			_ = sm.GetInt64(r.Context(), "user_id")
		})),
		"increment": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "n", sm.GetInt(r.Context(), "n")+1)
			io.WriteString(w, "ok")
		})),
		"nocookie": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})),
	}
	return benchLib{handler: func(w string) http.Handler { return handlers[w] }, cookie: cookieOf(b, setup)}
}

var registerGobTime sync.Once

func newGorillaLib(b *testing.B) benchLib {
	store := sessions.NewCookieStore([]byte(strings.Repeat("k", 32)))
	get := func(w http.ResponseWriter, r *http.Request) *sessions.Session {
		// gorilla caches the session in the request it is given (it
		// replaces *r), so each request gets a copy of the prebuilt one.
		r2 := new(http.Request)
		*r2 = *r
		s, err := store.Get(r2, "session")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return nil
		}
		return s
	}
	setup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := get(w, r)
		for k, v := range benchValues() {
			s.Values[k] = v
		}
		if err := s.Save(r, w); err != nil {
			b.Fatal(err)
		}
	})
	handlers := map[string]http.Handler{
		"read": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := get(w, r)
			name, _ := s.Values["name"].(string)
			_, _ = s.Values["user_id"].(int64)
			io.WriteString(w, name)
		}),
		"increment": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := get(w, r)
			n, _ := s.Values["n"].(int)
			s.Values["n"] = n + 1
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		}),
		// gorilla has no middleware: a handler that does not use the
		// session costs nothing, as the bare one.
		"nocookie": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}),
	}
	return benchLib{handler: func(w string) http.Handler { return handlers[w] }, cookie: cookieOf(b, setup)}
}
