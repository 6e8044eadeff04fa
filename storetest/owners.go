package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

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
// shows it end to end. Each rule is a named subtest; the last checks random
// concurrent logins, renewals, writes, logouts, revokes (one, all, by key)
// and expiries, at a cap of three sessions, against a model (see
// ownersModel): every live session of the owner is listed, every listed
// one is live, and a revoke that reported success ended what it named.
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
		{"a login after RevokeAll is listed", ownersLoginAfterRevokeAll},
		{"RevokeAll of an owner with no sessions ends none", ownersRevokeNone},
		{"an owner's sessions follow a model under random concurrent operations", ownersModel},
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

// ownersLoginAfterRevokeAll: RevokeAll deletes the owner's index with a
// conditional delete; the next login creates it again with a swap of
// version 0, which a store that keeps a tombstone of the deleted record
// must still let through.
func ownersLoginAfterRevokeAll(t *testing.T, m *sessionstore.Manager) {
	login(t, m, "alice", "phone")
	if n, err := m.RevokeAll(context.Background(), "alice", false); err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v; want 1", n, err)
	}
	laptop := login(t, m, "alice", "laptop")
	wantList(t, m, "alice", "laptop")
	if !laptop.loggedIn(t) {
		t.Fatal("the login after RevokeAll is not live")
	}
	if n, err := m.RevokeAll(context.Background(), "alice", false); err != nil || n != 1 {
		t.Fatalf("RevokeAll again = %d, %v; want 1", n, err)
	}
}

func ownersRevokeNone(t *testing.T, m *sessionstore.Manager) {
	for range 2 {
		if n, err := m.RevokeAll(context.Background(), "nobody", false); err != nil || n != 0 {
			t.Fatalf("RevokeAll of an owner with no sessions = %d, %v; want 0", n, err)
		}
	}
	login(t, m, "nobody", "phone")
	wantList(t, m, "nobody", "phone")
}

// The model of an owner's sessions. A run draws a few steps; each step is
// one to three operations run at once by devices (browsers, each holding
// one cookie) and the administrator, and is followed, once all returned,
// by a look at the store: which devices are logged in, what SessionsOf
// lists and, on a store that can iterate, every live session of the
// owner. What must hold after every step, whatever the interleaving:
//   - every device logged in is listed, and on a store that can iterate,
//     the live sessions of the owner are exactly as many as are listed
//     (listing loads each session, so every listed one is live);
//   - no more than the cap are listed;
//   - a revoke that reported success ended what it named: its handle is no
//     longer listed, and a device that no other operation of the step
//     touched is logged out; so is a device logged out, revoked by key or
//     expired by an operation of its own;
//
// and when the step is one operation alone, what the model says exactly:
// a login is live and listed, RevokeAll ends and counts every live session,
// RevokeSession of a live session succeeds, a renewal or a write leaves
// the devices as they were.
const (
	modelDevices = 3
	modelCap     = 3
)

// modelOp is one operation of a step: kind, by or on device dev.
type modelOp struct {
	Kind string
	Dev  int
}

var modelKinds = []string{"login", "renew", "write", "logout", "revoke one", "revoke all", "revoke by key", "expire"}

// modelWorld is one run: an owner of its own and the devices.
type modelWorld struct {
	m     *sessionstore.Manager
	owner string
	devs  [modelDevices]modelDevice
}

// modelDevice is a browser: its cookie, set in the order the answers come.
type modelDevice struct {
	mu     sync.Mutex
	cookie string
}

// seen is what a look at the store found.
type seen struct {
	live    map[int]string // logged-in device → its store key
	listed  map[int]bool   // devices (login metadata) of listed sessions
	handles map[string]bool
	n       int // sessions listed: a device that logged in twice at once has two
	stored  int // live sessions of the owner in the store; -1 when it cannot iterate
}

// result is what an operation returned.
type result struct {
	handle string // the handle it revoked, for revoke one
	n      int    // how many RevokeAll ended
	err    error
	skip   bool // nothing to do (no handle, no session)
}

func ownersModel(t *testing.T, m *sessionstore.Manager) {
	m.MaxOwnerSessions = modelCap
	var runs atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		w := &modelWorld{m: m, owner: fmt.Sprintf("model-%d", runs.Add(1))}
		op := rapid.Custom(func(t *rapid.T) modelOp {
			return modelOp{rapid.SampledFrom(modelKinds).Draw(t, "kind"), rapid.IntRange(0, modelDevices-1).Draw(t, "dev")}
		})
		before := w.look(rt)
		for range rapid.IntRange(1, 6).Draw(rt, "steps") {
			ops := rapid.SliceOfN(op, 1, 3).Draw(rt, "step")
			results := make([]result, len(ops))
			var wg sync.WaitGroup
			for i, o := range ops {
				wg.Go(func() { results[i] = w.do(o) })
			}
			wg.Wait()
			after := w.look(rt)
			w.check(rt, ops, results, before, after)
			before = after
		}
	})
}

// do runs one operation.
func (w *modelWorld) do(o modelOp) result {
	ctx := context.Background()
	switch o.Kind {
	case "login":
		return result{err: w.request(o.Dev, func(s *sessionstore.Session) {
			s.LogIn(w.owner, map[string]string{"dev": fmt.Sprint(o.Dev)})
			s.Put("user", w.owner)
		})}
	case "renew":
		return result{err: w.request(o.Dev, func(s *sessionstore.Session) { s.RenewID() })}
	case "write":
		return result{err: w.request(o.Dev, func(s *sessionstore.Session) { s.Put("n", s.GetInt("n")+1) })}
	case "logout":
		return result{err: w.request(o.Dev, func(s *sessionstore.Session) { s.Destroy() })}
	case "revoke one":
		list, err := w.m.SessionsOf(ctx, w.owner)
		if err != nil {
			return result{err: err}
		}
		for _, os := range list {
			if os.Meta["dev"] == fmt.Sprint(o.Dev) {
				return result{handle: os.Handle, err: w.m.RevokeSession(ctx, w.owner, os.Handle)}
			}
		}
		return result{skip: true}
	case "revoke all":
		n, err := w.m.RevokeAll(ctx, w.owner, false)
		return result{n: n, err: err}
	}
	key, err := w.key(o.Dev)
	if err != nil || key == "" {
		return result{err: err, skip: key == ""}
	}
	if o.Kind == "expire" {
		// What an expiry looks like to the Manager: the record is gone and
		// its entry stays in the index.
		return result{err: w.m.Store.Delete(ctx, key)}
	}
	return result{err: w.m.Revoke(ctx, key)}
}

// request runs one request of device d through the Manager's Open and
// Save, with fn changing the session. The device takes the answer's cookie
// before another answer of it can come, as a browser on one connection.
func (w *modelWorld) request(d int, fn func(s *sessionstore.Session)) error {
	dev := &w.devs[d]
	r := w.newRequest(d)
	s, err := w.m.Open(r)
	if err != nil {
		return err
	}
	fn(s)
	rec := httptest.NewRecorder()
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if err := w.m.Save(rec, r, s); err != nil {
		return err
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == w.m.Cookie.Name {
			dev.cookie = c.Value
			if c.MaxAge < 0 {
				dev.cookie = ""
			}
		}
	}
	return nil
}

// newRequest returns a request of device d, bearing its cookie if it has one.
func (w *modelWorld) newRequest(d int) *http.Request {
	dev := &w.devs[d]
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if dev.cookie != "" {
		r.AddCookie(&http.Cookie{Name: w.m.Cookie.Name, Value: dev.cookie})
	}
	return r
}

// key returns the store key of device d's logged-in session, or "".
func (w *modelWorld) key(d int) (string, error) {
	s, err := w.m.Open(w.newRequest(d))
	if err != nil || s.GetString("user") != w.owner || s.Owner() != w.owner {
		return "", err
	}
	return s.Key(), nil
}

// look finds which devices are logged in, what is listed, and how many
// sessions of the owner are live in the store.
func (w *modelWorld) look(t *rapid.T) seen {
	sn := seen{live: map[int]string{}, listed: map[int]bool{}, handles: map[string]bool{}, stored: -1}
	for d := range w.devs {
		key, err := w.key(d)
		if err != nil {
			t.Fatalf("device %d: open: %v", d, err)
		}
		if key != "" {
			sn.live[d] = key
		}
	}
	list, err := w.m.SessionsOf(context.Background(), w.owner)
	if err != nil {
		t.Fatalf("SessionsOf: %v", err)
	}
	for _, os := range list {
		var d int
		fmt.Sscan(os.Meta["dev"], &d)
		sn.listed[d], sn.handles[os.Handle] = true, true
	}
	sn.n = len(list)
	if it, ok := w.m.Store.(sessionstore.Iterator); ok {
		sn.stored = 0
		err := it.Iterate(context.Background(), func(_ string, rec sessionstore.Record) bool {
			if info := sessionstore.Inspect(rec); info.Kind == sessionstore.KindSession && info.Owner == w.owner {
				sn.stored++
			}
			return true
		})
		if err != nil {
			t.Fatalf("Iterate: %v", err)
		}
	}
	return sn
}

// check fails unless what the step did agrees with the model.
func (w *modelWorld) check(t *rapid.T, ops []modelOp, results []result, before, after seen) {
	alone := len(ops) == 1
	touched := map[int]int{} // device → operations of the step on it
	logins := 0
	for _, o := range ops {
		switch o.Kind {
		case "revoke all":
		case "login":
			logins++
			fallthrough
		default:
			touched[o.Dev]++
		}
	}
	for d := range after.live {
		if !after.listed[d] {
			t.Fatalf("device %d is logged in but not listed (listed: %v)", d, after.listed)
		}
	}
	if after.stored >= 0 && after.stored != after.n {
		t.Fatalf("%d sessions of the owner live in the store, %d listed", after.stored, after.n)
	}
	if after.n > modelCap {
		t.Fatalf("%d sessions listed, over the cap of %d", after.n, modelCap)
	}
	for i, o := range ops {
		r := results[i]
		_, live := after.live[o.Dev]
		mine := touched[o.Dev] == 1 // no other operation of the step touched the device
		switch {
		case r.err != nil && o.Kind == "revoke one" && errors.Is(r.err, sessionstore.ErrUnknownHandle) && !alone:
			// The session ended meanwhile, by another operation of the step.
		case r.err != nil:
			t.Fatalf("%s of device %d: %v", o.Kind, o.Dev, r.err)
		case r.skip:
		case o.Kind == "revoke one":
			if after.handles[r.handle] {
				t.Fatalf("RevokeSession of device %d succeeded, yet its handle is still listed", o.Dev)
			}
			if mine && live {
				t.Fatalf("RevokeSession of device %d succeeded, yet it is still logged in", o.Dev)
			}
		case o.Kind == "revoke all":
			for d := range before.live {
				if _, still := after.live[d]; still && touched[d] == 0 {
					t.Fatalf("RevokeAll succeeded, yet device %d, untouched by the step, is still logged in", d)
				}
			}
			if alone && (r.n != before.n || after.n != 0) {
				t.Fatalf("RevokeAll alone ended %d with %d listed before, and left %d", r.n, before.n, after.n)
			}
			if r.n > before.n+logins {
				t.Fatalf("RevokeAll ended %d sessions; at most %d were live", r.n, before.n+logins)
			}
		case o.Kind == "logout" || o.Kind == "revoke by key" || o.Kind == "expire":
			if mine && live {
				t.Fatalf("%s of device %d succeeded, yet it is still logged in", o.Kind, o.Dev)
			}
		case o.Kind == "login" && alone:
			if !live {
				t.Fatalf("device %d logged in alone, yet it is not logged in", o.Dev)
			}
		case alone: // renew, write
			_, was := before.live[o.Dev]
			if live != was || len(after.live) != len(before.live) {
				t.Fatalf("a %s of device %d changed who is logged in: %v, then %v", o.Kind, o.Dev, before.live, after.live)
			}
		}
	}
}
