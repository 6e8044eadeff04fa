package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// RunOwners proves that the sessions of a user (sessionstore.Session.LogIn,
// Manager.SessionsOf, RevokeSession, RevokeAll) work over the store h makes:
// a Manager over it logs sessions in, lists, revokes and logs them out, as
// a store author's test calls it beside Run:
//
//	func TestOwners(t *testing.T) { storetest.RunOwners(t, harness) }
//
// The feature needs nothing of a store beyond the contract that Run checks
// (the owner's index is one more record, under a key of 45 bytes); this
// shows it end to end. Each rule is a named subtest.
func RunOwners(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("storetest: Harness.NewStore is nil")
	}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, m *sessionstore.Manager)
	}{
		{"a login is listed with its metadata", ownersListed},
		{"another owner's sessions are not listed", ownersApart},
		{"a revoked session is not listed and starts afresh", ownersRevokeOne},
		{"revoke all but the current one", ownersRevokeOthers},
		{"a logout unlists the session", ownersLogout},
		{"a renewed owned session stays listed", ownersRenew},
		{"at the cap the oldest session ends", ownersCap},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, sessionstore.New(h.NewStore(t)))
		})
	}
}

// device is one browser of an owner: the cookie of its session.
type device struct {
	m      *sessionstore.Manager
	cookie *http.Cookie
}

// do runs one request of d through the Manager's Open and Save, with fn
// changing the session, and keeps the cookie the response sets.
func (d *device) do(t *testing.T, fn func(s *sessionstore.Session)) *sessionstore.Session {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if d.cookie != nil {
		r.AddCookie(d.cookie)
	}
	s, err := d.m.Open(r)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if fn != nil {
		fn(s)
	}
	w := httptest.NewRecorder()
	if err := d.m.Save(w, r, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == d.m.Cookie.Name {
			d.cookie = c
			if c.MaxAge < 0 {
				d.cookie = nil
			}
		}
	}
	return s
}

// login logs a new device in as owner, recording ua.
func login(t *testing.T, m *sessionstore.Manager, owner, ua string) *device {
	t.Helper()
	d := &device{m: m}
	d.do(t, func(s *sessionstore.Session) {
		s.LogIn(owner, map[string]string{"ua": ua})
		s.Put("user", owner)
	})
	if d.cookie == nil {
		t.Fatalf("a login set no cookie")
	}
	return d
}

// loggedIn reports whether d's next request still finds its session.
func (d *device) loggedIn(t *testing.T) bool {
	t.Helper()
	s := d.do(t, nil)
	return s.GetString("user") != ""
}

// list returns the user agents of owner's sessions, oldest first, and the
// handle of each.
func list(t *testing.T, m *sessionstore.Manager, owner string) (uas []string, handles map[string]string) {
	t.Helper()
	sessions, err := m.SessionsOf(context.Background(), owner)
	if err != nil {
		t.Fatalf("SessionsOf(%q): %v", owner, err)
	}
	handles = map[string]string{}
	for _, s := range sessions {
		uas = append(uas, s.Meta["ua"])
		handles[s.Meta["ua"]] = s.Handle
	}
	return uas, handles
}

func wantList(t *testing.T, m *sessionstore.Manager, owner string, want ...string) map[string]string {
	t.Helper()
	got, handles := list(t, m, owner)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sessions of %s: %v, want %v", owner, got, want)
	}
	return handles
}

func ownersListed(t *testing.T, m *sessionstore.Manager) {
	login(t, m, "alice", "phone")
	login(t, m, "alice", "laptop")
	wantList(t, m, "alice", "phone", "laptop")
}

func ownersApart(t *testing.T, m *sessionstore.Manager) {
	login(t, m, "alice", "phone")
	login(t, m, "bob", "laptop")
	wantList(t, m, "alice", "phone")
	wantList(t, m, "bob", "laptop")
	wantList(t, m, "carol")
}

func ownersRevokeOne(t *testing.T, m *sessionstore.Manager) {
	phone := login(t, m, "alice", "phone")
	laptop := login(t, m, "alice", "laptop")
	handles := wantList(t, m, "alice", "phone", "laptop")
	if err := m.RevokeSession(context.Background(), "alice", handles["laptop"]); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	wantList(t, m, "alice", "phone")
	if laptop.loggedIn(t) || !phone.loggedIn(t) {
		t.Fatal("after revoking the laptop: want the laptop logged out and the phone logged in")
	}
	err := m.RevokeSession(context.Background(), "alice", handles["laptop"])
	if !errors.Is(err, sessionstore.ErrUnknownHandle) {
		t.Fatalf("revoking it again: %v, want ErrUnknownHandle", err)
	}
}

func ownersRevokeOthers(t *testing.T, m *sessionstore.Manager) {
	devices := []*device{login(t, m, "alice", "a"), login(t, m, "alice", "b"), login(t, m, "alice", "c")}
	n, err := m.RevokeAll(context.Background(), "alice", false)
	if err != nil || n != 3 {
		t.Fatalf("RevokeAll = %d, %v; want 3", n, err)
	}
	wantList(t, m, "alice")
	for _, d := range devices {
		if d.loggedIn(t) {
			t.Fatal("a session survived RevokeAll")
		}
	}
}

func ownersLogout(t *testing.T, m *sessionstore.Manager) {
	phone := login(t, m, "alice", "phone")
	login(t, m, "alice", "laptop")
	phone.do(t, func(s *sessionstore.Session) { s.Destroy() })
	wantList(t, m, "alice", "laptop")
}

func ownersRenew(t *testing.T, m *sessionstore.Manager) {
	phone := login(t, m, "alice", "phone")
	phone.do(t, func(s *sessionstore.Session) { s.RenewID() })
	handles := wantList(t, m, "alice", "phone")
	if err := m.RevokeSession(context.Background(), "alice", handles["phone"]); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if phone.loggedIn(t) {
		t.Fatal("revoking a renewed session left it logged in")
	}
}

func ownersCap(t *testing.T, m *sessionstore.Manager) {
	m.MaxOwnerSessions = 2
	first := login(t, m, "alice", "first")
	login(t, m, "alice", "second")
	login(t, m, "alice", "third")
	wantList(t, m, "alice", "second", "third")
	if first.loggedIn(t) {
		t.Fatal("the oldest session survived a login over the cap")
	}
}
