package sessionstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// ownerApp serves logins bound to an owner and the "your devices" calls.
//
//	/login?u=alice&ua=X   LogIn(u, ua=X) and puts user=u
//	/devices              one line per session of the user: ua, current flag, handle
//	/revoke?h=H           RevokeSession of the user's session H
//	/revoke-others        RevokeAll except the current one
//	/destroy              Destroy (app)
func ownerApp(m *sessionstore.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		q := r.URL.Query()
		switch r.URL.Path {
		case "/login":
			s.LogIn(q.Get("u"), map[string]string{"ua": q.Get("ua")})
			s.Put("user", q.Get("u"))
		case "/devices":
			list, err := m.SessionsOf(r.Context(), s.Owner())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			for _, os := range list {
				fmt.Fprintf(w, "%s current=%v handle=%s\n", os.Meta["ua"], os.Current, os.Handle)
			}
		case "/revoke":
			if err := m.RevokeSession(r.Context(), s.Owner(), q.Get("h")); err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
			}
		case "/revoke-others":
			n, err := m.RevokeAll(r.Context(), s.Owner(), true)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, n)
		default:
			app(w, r)
		}
	}
}

// handleOf returns the handle of the device ua in a /devices body.
func handleOf(t *testing.T, body, ua string) string {
	t.Helper()
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, ua+" ") {
			_, h, _ := strings.Cut(strings.TrimSpace(line), "handle=")
			return h
		}
	}
	t.Fatalf("no device %s in %q", ua, body)
	return ""
}

func TestSessionsOfAnOwner(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	h := ownerApp(m)
	phone, laptop, tablet := serve(t, m, h), serve(t, m, h), serve(t, m, h)
	phone.get("/put?k=cart&v=1") // a session before the login
	before := phone.cookie()
	phone.get("/login?u=alice&ua=phone")
	if phone.cookie() == before {
		t.Fatal("LogIn kept the id: want a fresh one, as RenewID")
	}
	laptop.get("/login?u=alice&ua=laptop")
	tablet.get("/login?u=alice&ua=tablet")
	serve(t, m, h).get("/login?u=bob&ua=other") // another owner's session is not listed

	_, body := phone.get("/devices")
	if got := strings.Count(body, "\n"); got != 3 || !strings.Contains(body, "phone current=true") || !strings.Contains(body, "laptop current=false") {
		t.Fatalf("devices of alice from the phone:\n%s\nwant phone (current), laptop, tablet", body)
	}
	if _, b := phone.get("/read"); b != "cart=1;user=alice;" {
		t.Errorf("the phone's session holds %q after login, want its cart kept", b)
	}
	for _, c := range []*client{phone, laptop} {
		if h := handleOf(t, body, "laptop"); strings.Contains(c.cookie(), h) || sessionstore.HashID(c.cookie()) == h {
			t.Errorf("a handle is the id or its store key")
		}
	}

	t.Run("revoke one", func(t *testing.T) {
		phone.get("/revoke?h=" + handleOf(t, body, "laptop"))
		if _, b := laptop.get("/read"); b != "" {
			t.Errorf("the revoked laptop still reads %q", b)
		}
		_, body := phone.get("/devices")
		if strings.Contains(body, "laptop") || strings.Count(body, "\n") != 2 {
			t.Errorf("devices after revoking the laptop:\n%s", body)
		}
		res, _ := phone.do("GET", "/revoke?h="+handleOf(t, body, "phone")+"x")
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("revoking an unknown handle: %s, want the error", res.Status)
		}
	})
	t.Run("revoke all but the current", func(t *testing.T) {
		if _, n := phone.get("/revoke-others"); n != "1" {
			t.Errorf("revoked %s sessions, want 1 (the tablet)", n)
		}
		if _, b := tablet.get("/read"); b != "" {
			t.Errorf("the tablet still reads %q", b)
		}
		if _, body := phone.get("/devices"); body != "phone current=true handle="+handleOf(t, body, "phone")+"\n" {
			t.Errorf("devices: %q, want the phone alone", body)
		}
	})
	t.Run("logout unlists", func(t *testing.T) {
		phone.get("/destroy")
		list, err := m.SessionsOf(context.Background(), "alice")
		if err != nil || len(list) != 0 {
			t.Errorf("SessionsOf(alice) after logout = %v, %v; want none", list, err)
		}
		if list, _ := m.SessionsOf(context.Background(), "bob"); len(list) != 1 || list[0].Current {
			t.Errorf("bob's sessions = %v, want one, not current", list)
		}
	})
}

func TestOwnerCalls(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	ctx := context.Background()
	if _, err := m.SessionsOf(ctx, ""); !errors.Is(err, sessionstore.ErrNoOwner) {
		t.Errorf("SessionsOf(\"\") = %v, want ErrNoOwner", err)
	}
	if _, err := m.RevokeAll(ctx, "", false); !errors.Is(err, sessionstore.ErrNoOwner) {
		t.Errorf("RevokeAll(\"\") = %v, want ErrNoOwner", err)
	}
	if err := m.RevokeSession(ctx, "nobody", "h"); !errors.Is(err, sessionstore.ErrUnknownHandle) {
		t.Errorf("RevokeSession of an unknown owner = %v, want ErrUnknownHandle", err)
	}
	if list, err := m.SessionsOf(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Errorf("SessionsOf(nobody) = %v, %v", list, err)
	}
}

func TestOwnerCapEndsTheOldest(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	m.MaxOwnerSessions = 3
	h := ownerApp(m)
	var clients []*client
	for i := range 5 {
		c := serve(t, m, h)
		c.get(fmt.Sprintf("/login?u=alice&ua=d%d", i))
		clients = append(clients, c)
	}
	list, err := m.SessionsOf(context.Background(), "alice")
	if err != nil || len(list) != 3 || list[0].Meta["ua"] != "d2" {
		t.Fatalf("SessionsOf = %v, %v; want the 3 newest, d2 to d4", list, err)
	}
	for i, c := range clients {
		_, b := c.get("/read")
		if live := b != ""; live != (i >= 2) {
			t.Errorf("device d%d reads %q: live=%v, want %v", i, b, live, i >= 2)
		}
	}
	// One session live per client that was not evicted, plus alice's index.
	if n := count(t, spy); n != 3+1 {
		t.Errorf("%d records stored, want 3 sessions and the index", n)
	}
}

func TestRenewKeepsAnOwnedSessionListed(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, ownerApp(m))
	c.get("/login?u=alice&ua=phone")
	c.get("/renew")
	list, err := m.SessionsOf(context.Background(), "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("SessionsOf after a renewal = %v, %v; want the session", list, err)
	}
	if err := m.RevokeSession(context.Background(), "alice", list[0].Handle); err != nil {
		t.Fatal(err)
	}
	if _, b := c.get("/read"); b != "" {
		t.Errorf("revoked after its renewal, the session still reads %q", b)
	}
}

func TestRevokeByKeyUnlists(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, ownerApp(m))
	c.get("/login?u=alice&ua=phone")
	if err := m.Revoke(context.Background(), sessionstore.HashID(c.cookie())); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.SessionsOf(context.Background(), "alice"); len(list) != 0 {
		t.Errorf("SessionsOf after Revoke = %v", list)
	}
}

// TestLogoutDropsTheIndexEntry: a logout takes its session off the owner's
// index (one write), so the index of an owner with no session left is gone
// rather than waiting for the cap or the lifetime to prune it.
func TestLogoutDropsTheIndexEntry(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	c := serve(t, m, ownerApp(m))
	c.get("/login?u=alice&ua=phone")
	if n := count(t, spy); n != 2 {
		t.Fatalf("%d records after a login, want the session and alice's index", n)
	}
	c.get("/destroy")
	if n := count(t, spy); n != 0 {
		t.Errorf("%d records after the logout, want none: the index entry stayed", n)
	}
}

// swapFailStore fails every CompareAndSwap, so a renewal saves its new
// record and then cannot forward the old one.
type swapFailStore struct{ *spyStore }

func (swapFailStore) CompareAndSwap(context.Context, string, uint64, []byte, time.Time) (bool, error) {
	return false, errInjected
}

// TestFailedRenewalLeavesNoRecord: a renewal that fails after saving its new
// record deletes it, so no logged-in session is left behind.
func TestFailedRenewalLeavesNoRecord(t *testing.T) {
	t.Parallel()
	_, spy := newSpy(t, nil)
	m := sessionstore.New(swapFailStore{spy})
	m.Logger, _ = logBuffer()
	c := serve(t, m, app)
	c.get("/put?k=a&v=1") // a new session is saved without a swap
	if res, _ := c.do("GET", "/renew-put"); res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("renewal over a failing swap: %s, want 500", res.Status)
	}
	if n := count(t, spy); n != 1 {
		t.Errorf("%d records after the failed renewal, want the old session alone", n)
	}
}
