package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestLoginMerges races one login (RenewID) against writers that all opened
// the old session before it, on every backend: the client ends logged in
// under the new id with every write kept; no writer sets a cookie; the old id
// reads as a fresh, empty session; one session is stored.
func TestLoginMerges(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			for _, writers := range []int{20, 100} {
				for round := range rounds {
					t.Run(fmt.Sprintf("%d writers/round %d", writers, round), func(t *testing.T) {
						old, before, replies := a.race(t, writers, "/login")
						login := replies[writers]
						if login.err != nil || login.status != http.StatusOK || len(login.cookies) != 1 || login.cookies[0].Value == old {
							t.Fatalf("login: %d %q %v, cookies %v; want 200 with a new cookie", login.status, login.body, login.err, login.cookies)
						}
						wantAllKept(t, replies[:writers])
						body := a.mustGet(t, "/read", login.cookies[0].Value).body
						if got := strings.Count(body, ";"); got != writers+2 || !strings.Contains(body, "user=alice;") {
							t.Fatalf("renewed session holds %d values, want %d with user=alice: %s", got, writers+2, body)
						}
						if rp := a.mustGet(t, "/read", old); rp.body != "" || len(rp.cookies) > 0 {
							t.Fatalf("the old id reads %q and sets %v; want a fresh, empty session", rp.body, rp.cookies)
						}
						if n := a.liveSessions(t); n >= 0 && n != before {
							t.Fatalf("%d sessions stored after the login, want %d (no stray session)", n, before)
						}
					})
				}
			}
		})
	}
}

// TestLogoutWins races one logout (Destroy) against writers that all opened
// the session before it, on every backend: the client ends logged out, no
// writer sets a cookie or stores a stray session, and the old id reads as a
// fresh, empty session.
func TestLogoutWins(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			for _, writers := range []int{20, 100} {
				for round := range rounds {
					t.Run(fmt.Sprintf("%d writers/round %d", writers, round), func(t *testing.T) {
						old, before, replies := a.race(t, writers, "/logout")
						logout := replies[writers]
						if logout.err != nil || logout.status != http.StatusOK || len(logout.cookies) != 1 || logout.cookies[0].MaxAge >= 0 {
							t.Fatalf("logout: %d %q %v, cookies %v; want 200 expiring the cookie", logout.status, logout.body, logout.err, logout.cookies)
						}
						for _, rp := range replies[:writers] {
							if rp.err != nil || rp.status != http.StatusOK || len(rp.cookies) > 0 {
								t.Fatalf("writers: %s; want 200 and no cookie each", summarize(replies[:writers]))
							}
						}
						if rp := a.mustGet(t, "/read", old); rp.body != "" || len(rp.cookies) > 0 {
							t.Fatalf("the old id reads %q and sets %v; want a fresh, empty session", rp.body, rp.cookies)
						}
						if n := a.liveSessions(t); n >= 0 && n != before-1 {
							t.Fatalf("%d sessions stored after the logout, want %d (no stray session)", n, before-1)
						}
					})
				}
			}
		})
	}
}

// race seeds a session, then sends writers requests each putting its own key
// and one request to last, all with the seeded cookie and all holding until
// every one of them opened the session. It returns the seeded cookie, the
// sessions stored before the race, and the replies, last's at the end.
func (a *app) race(t *testing.T, writers int, last string) (old string, before int, replies []reply) {
	t.Helper()
	old = a.seed(t)
	before = a.liveSessions(t)
	a.gate = barrier(writers + 1)
	defer func() { a.gate = nil }()
	return old, before, a.concurrently(append(numbered("/put?k=w%03d", writers), last), old)
}
