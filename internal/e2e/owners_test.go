package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// ownerRounds is how many times the owner races run per backend.
const ownerRounds = 3

// TestOwnerListUnderRaces logs one user in 50 times at once while a "sign
// out everywhere" runs, several rounds on every backend: every session that
// is still live is listed, and every listed session is live. Then 25 of the
// survivors log out while 25 new logins run: the list is exactly the live
// sessions again.
func TestOwnerListUnderRaces(t *testing.T) {
	const logins = 50
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			for round := range ownerRounds {
				owner := fmt.Sprintf("user-%d", round)
				cookies := make([]string, logins)
				var wg sync.WaitGroup
				for i := range logins {
					wg.Go(func() {
						rp := a.get("/login-as?u="+owner, "")
						if rp.err != nil || rp.status != http.StatusOK || len(rp.cookies) != 1 {
							t.Errorf("login %d: %d %q %v", i, rp.status, rp.body, rp.err)
							return
						}
						cookies[i] = rp.cookies[0].Value
					})
				}
				wg.Go(func() {
					if _, err := a.m.RevokeAll(context.Background(), owner, false); err != nil {
						t.Errorf("RevokeAll: %v", err)
					}
				})
				wg.Wait()
				live := wantListIsLive(t, a, owner, cookies)

				// 25 logouts of survivors and 25 new logins at once.
				var out []string
				for _, c := range cookies {
					if live[c] && len(out) < logins/2 {
						out = append(out, c)
					}
				}
				fresh := make([]string, logins/2)
				for i, c := range out {
					wg.Go(func() { a.mustGet(t, "/logout", c) })
					_ = i
				}
				for i := range fresh {
					wg.Go(func() {
						rp := a.get("/login-as?u="+owner, "")
						if rp.err != nil || rp.status != http.StatusOK || len(rp.cookies) != 1 {
							t.Errorf("login: %d %q %v", rp.status, rp.body, rp.err)
							return
						}
						fresh[i] = rp.cookies[0].Value
					})
				}
				wg.Wait()
				live = wantListIsLive(t, a, owner, append(cookies, fresh...))
				for _, c := range out {
					if live[c] {
						t.Errorf("round %d: a session that logged out is live", round)
					}
				}
				for _, c := range fresh {
					if !live[c] {
						t.Errorf("round %d: a session that logged in after the revoke is not live", round)
					}
				}
			}
		})
	}
}

// wantListIsLive fails unless the sessions SessionsOf lists for owner are
// exactly those of cookies that are still live (read back their user). It
// returns which cookies are live.
func wantListIsLive(t *testing.T, a *app, owner string, cookies []string) map[string]bool {
	t.Helper()
	live := map[string]bool{}
	for _, c := range cookies {
		if c == "" {
			continue
		}
		if rp := a.mustGet(t, "/read", c); rp.body == "user="+owner+";" {
			live[c] = true
		}
	}
	list, err := a.m.SessionsOf(context.Background(), owner)
	if err != nil {
		t.Fatalf("SessionsOf: %v", err)
	}
	if len(list) != len(live) {
		t.Fatalf("%s: %d sessions listed, %d live: a live session missing from the list, or a dead one listed", owner, len(list), len(live))
	}
	return live
}

// ownerRoutes adds the owner calls to the app's mux.
func ownerRoutes(a *app, mux *http.ServeMux) {
	mux.HandleFunc("/login-as", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		u := r.URL.Query().Get("u")
		s.LogIn(u, nil)
		s.Put("user", u)
	})
}

// TestLoginOverARenewedCookie: a device whose cookie still names an id that
// was renewed (a tab that missed the renewal's Set-Cookie) logs in. The
// request opens as a late request of the renewed id, which stores nothing;
// the login starts a session of its own under a fresh id, listed for its
// owner, and leaves the renewed session as it was. Seen once in the owner
// model on sqlite before the fix: the login was dropped with the late
// request, and the device could not log in until the forward expired.
func TestLoginOverARenewedCookie(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			old := a.seed(t)
			renewed := a.mustGet(t, "/login", old)
			if len(renewed.cookies) != 1 || renewed.cookies[0].Value == old {
				t.Fatalf("renewal set cookies %v, want one with a new id", renewed.cookies)
			}
			now := renewed.cookies[0].Value

			rp := a.mustGet(t, "/login-as?u=bob", old)
			if len(rp.cookies) != 1 || rp.cookies[0].Value == "" || rp.cookies[0].MaxAge < 0 {
				t.Fatalf("login over the renewed cookie set cookies %v, want one naming a session", rp.cookies)
			}
			fresh := rp.cookies[0].Value
			if fresh == old || fresh == now {
				t.Fatalf("login over the renewed cookie adopted an existing id (%s)", map[bool]string{true: "the renewed one", false: "the forward"}[fresh == now])
			}
			if got := a.mustGet(t, "/read", fresh).body; got != "user=bob;" {
				t.Errorf("the login's session reads %q, want user=bob;", got)
			}
			if got := a.mustGet(t, "/read", now).body; got != "start=v;user=alice;" {
				t.Errorf("the renewed session reads %q after another login over its old id, want it unchanged", got)
			}
			list, err := a.m.SessionsOf(context.Background(), "bob")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Errorf("SessionsOf(bob) lists %d sessions, want the login's one", len(list))
			}
		})
	}
}
