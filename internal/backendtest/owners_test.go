package backendtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/storetest"
)

// TestOwners runs storetest.RunOwners, the sessions of a user end to end,
// on every backend and a Redis Cluster, each on its real server.
func TestOwners(t *testing.T) {
	for _, b := range backendtest.WithCluster() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storetest.RunOwners(t, storetest.Harness{NewStore: b.NewStore})
		})
	}
}

// BenchmarkOwners measures the sessions of a user on every backend, each on
// its real server: a login (a renewal plus the owner's index), a logout, an
// ordinary request that changes an owned session and one that changes a
// session without owner (the same cost: the index is not touched), listing
// five sessions and revoking five.
//
//	./scripts/test -run '^$' -bench Owners -benchmem ./internal/backendtest/
func BenchmarkOwners(b *testing.B) {
	for _, be := range backendtest.WithCluster() {
		b.Run(be.Name, func(b *testing.B) {
			m := sessionstore.New(be.NewStore(b))
			ctx := context.Background()
			b.Run("login", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					d := &device{m: m}
					b.StopTimer()
					d.do(b, func(s *sessionstore.Session) { s.Put("cart", 1) })
					b.StartTimer()
					d.do(b, func(s *sessionstore.Session) { s.LogIn(fmt.Sprint("login-", i%50), nil) })
				}
			})
			for _, owned := range []bool{true, false} {
				name := "request/unowned"
				if owned {
					name = "request/owned"
				}
				b.Run(name, func(b *testing.B) {
					d := &device{m: m}
					d.do(b, func(s *sessionstore.Session) {
						s.Put("n", 0)
						if owned {
							s.LogIn("request-owner", nil)
						}
					})
					b.ReportAllocs()
					for b.Loop() {
						d.do(b, func(s *sessionstore.Session) { s.Put("n", s.GetInt("n")+1) })
					}
				})
			}
			b.Run("logout", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					d := &device{m: m}
					d.do(b, func(s *sessionstore.Session) { s.LogIn(fmt.Sprint("logout-", i%50), nil) })
					b.StartTimer()
					d.do(b, func(s *sessionstore.Session) { s.Destroy() })
				}
			})
			for i := range 5 {
				d := &device{m: m}
				d.do(b, func(s *sessionstore.Session) { s.LogIn("lister", map[string]string{"ua": fmt.Sprint(i)}) })
			}
			b.Run("list of 5", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if l, err := m.SessionsOf(ctx, "lister"); err != nil || len(l) != 5 {
						b.Fatalf("SessionsOf = %d, %v", len(l), err)
					}
				}
			})
			b.Run("revoke all of 5", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					owner := fmt.Sprint("revoker-", i)
					for range 5 {
						d := &device{m: m}
						d.do(b, func(s *sessionstore.Session) { s.LogIn(owner, nil) })
					}
					b.StartTimer()
					if n, err := m.RevokeAll(ctx, owner, false); err != nil || n != 5 {
						b.Fatalf("RevokeAll = %d, %v", n, err)
					}
				}
			})
		})
	}
}

// device is one browser: the session cookie it holds.
type device struct {
	m      *sessionstore.Manager
	cookie *http.Cookie
}

// do runs one request of d through the Manager's Open and Save.
func (d *device) do(b testing.TB, fn func(s *sessionstore.Session)) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if d.cookie != nil {
		r.AddCookie(d.cookie)
	}
	s, err := d.m.Open(r)
	if err != nil {
		b.Fatal(err)
	}
	fn(s)
	w := httptest.NewRecorder()
	if err := d.m.Save(w, r, s); err != nil {
		b.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == d.m.Cookie.Name {
			d.cookie = c
		}
	}
}
