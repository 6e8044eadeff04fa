package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// TestLoginWinsOverLateRequests races a login against 20 background writes
// of the page, all sent with the pre-login cookie, on every backend: half
// of them start with the login, half after its answer arrived (requests
// the page sent before the browser stored the new cookie). A client that
// applies each Set-Cookie in the order the answers arrive, as a browser
// does, ends logged in, every round.
//
// Seen failing before, in the first round on memory: each write that
// arrived after the renewal read its id as no session, started an
// anonymous one and set that cookie over the login's.
func TestLoginWinsOverLateRequests(t *testing.T) {
	const writes, racingRounds = 20, 5
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			for round := range racingRounds {
				old := a.seed(t)
				var mu sync.Mutex
				jar := old
				apply := func(rp reply) {
					mu.Lock()
					defer mu.Unlock()
					for _, c := range rp.cookies {
						jar = c.Value
						if c.MaxAge < 0 {
							jar = ""
						}
					}
				}
				var wg sync.WaitGroup
				loggedIn := make(chan struct{})
				wg.Go(func() {
					defer close(loggedIn)
					rp := a.get("/login", old)
					if rp.err != nil || rp.status != http.StatusOK || len(rp.cookies) != 1 {
						t.Errorf("login: %d %q %v", rp.status, rp.body, rp.err)
					}
					apply(rp)
				})
				for i := range writes {
					wg.Go(func() {
						if i >= writes/2 {
							<-loggedIn
						}
						rp := a.get(fmt.Sprintf("/put?k=w%02d", i), old)
						if rp.err != nil || rp.status != http.StatusOK {
							t.Errorf("write %d: %d %q %v", i, rp.status, rp.body, rp.err)
						}
						apply(rp)
					})
				}
				wg.Wait()
				if rp := a.mustGet(t, "/read", jar); !strings.Contains(rp.body, "user=alice;") {
					t.Fatalf("round %d: after the login the client's cookie reads %q: logged out", round, rp.body)
				}
			}
		})
	}
}
