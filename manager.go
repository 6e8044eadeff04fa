package sessionstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// Errors of the session lifecycle. The Manager wraps them, so test them with
// errors.Is.
var (
	// ErrHeaderSent is wrapped by errors that happen after the response
	// header was sent, when the Manager can no longer set a cookie or answer
	// with an error status: a change made late in a handler that needs a new
	// cookie (the first value of a new session, RenewID, a value after
	// Destroy, a change of Permanent), or a store error on a late save. An
	// ErrorHandler can then only log or count the error.
	ErrHeaderSent = errors.New("sessionstore: response header already sent")

	// ErrConflict is wrapped, together with the context's error, when a save
	// kept losing the compare-and-swap race to other processes writing the
	// same session until the request's context ended. Concurrent requests
	// of one session in one process never cause it: their saves are
	// combined (see [Session]).
	ErrConflict = errors.New("sessionstore: session changed concurrently until the request ended")
)

// Defaults of the Manager's settings, as New sets them.
const (
	// DefaultLifetime is the default absolute lifetime of a session.
	DefaultLifetime = 24 * time.Hour
)

const (
	// touchDivisor sets how far an idle session's expiry must move before it
	// is written back: IdleTimeout/touchDivisor. See Manager.IdleTimeout.
	touchDivisor = 10
)

// Manager runs the session lifecycle over a Store: it implements
// [SessionInterface] (Open and Save, for your own middleware) and provides
// the middleware [Manager.Handler].
//
// Create it with [New], then change the settings before the first request;
// they must not change while requests are served. Each field's doc says its
// default.
type Manager struct {
	// Store keeps the sessions. When it implements [Swapper], concurrent
	// requests of one session are merged (see [Session]); otherwise the
	// last request to save wins. With [Toucher], idle sessions are refreshed
	// without resending their data.
	//
	// Required; New sets it.
	Store Store

	// Codec turns the session's values into bytes.
	//
	// Default codec.Default(), a MessagePack codec that keeps the exact Go
	// type of each value, chosen by measurement (see package codec); a zero
	// codec.MsgPack when nil. Use codec.JSON{} to share sessions with
	// programs in other languages.
	Codec codec.Codec

	// Cookie holds the cookie's name and attributes; each field documents
	// its default.
	Cookie CookieOptions

	// Lifetime is the absolute lifetime of a session in the store, counted
	// from its creation; the session ends then however active it is.
	// RenewID keeps the creation time.
	//
	// Default DefaultLifetime (24 hours), also used when it is not positive.
	Lifetime time.Duration

	// IdleTimeout ends a session that saw no request for this long. A
	// session's expiry is min(created + Lifetime, last request +
	// IdleTimeout). A request that does not change the session writes the
	// new expiry back (with Touch when the store has it) only when it moves
	// by more than IdleTimeout/10, so a read-heavy session costs at most one
	// write per tenth of the timeout, and a session may end up to
	// IdleTimeout/10 earlier than IdleTimeout after its last request.
	//
	// Default 0: no idle timeout.
	IdleTimeout time.Duration

	// Permanent is the initial Permanent flag of new sessions (see
	// Session.SetPermanent): whether their cookie gets a Max-Age.
	//
	// Default false: browser-session cookies.
	Permanent bool

	// HashIDs stores each session under the SHA-256 hash of its id
	// (base64url-encoded without padding) rather than the id itself, so the
	// store's contents (a leaked backup, a timing attack on lookups) give no
	// usable session id. Changing it loses every stored session.
	//
	// Default true.
	HashIDs bool

	// ErrorHandler answers a request whose session could not be opened or
	// saved: a store error, a record too large, ErrConflict. When the error
	// wraps ErrHeaderSent the response is already under way: the handler
	// must not write to w and can only log or count the error.
	//
	// Default nil: log the error with Logger at level Error and, unless the
	// header was sent, reply 500 Internal Server Error. An error that is
	// only the request's own context cancelled (the client went away) is
	// logged at level Debug and gets no reply.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives the errors the default ErrorHandler handles, and a
	// warning for each stored session that no longer decodes (the request
	// then starts a fresh session).
	//
	// Default nil: slog.Default() at the time of logging.
	Logger *slog.Logger

	// Observer, when set, sees each request's open and save begin and end,
	// and each event of a session's life (see [Observer]); package
	// otelsession provides one for OpenTelemetry.
	//
	// Default nil: nothing observed, at no cost.
	Observer Observer

	// MaxOwnerSessions caps the live sessions of one owner (see
	// Session.LogIn). A login over the cap first drops the entries of
	// sessions that ended, then ends the owner's oldest session.
	//
	// Default DefaultMaxOwnerSessions (100), also used when not positive.
	MaxOwnerSessions int

	// now is the clock, replaced by tests.
	now func() time.Time

	// commits queues the concurrent saves of each stored session.
	commits commitQueues
	// ownerLocks serialises the updates of each owner's index.
	ownerLocks keyedLocks
	// keys remembers the store keys of recent ids (HashIDs).
	keys keyCache
}

// bufPool holds buffers for encoding records; stores do not keep the data
// they are given, so a buffer is reused as soon as Save returns. Buffers
// over maxPooledBuf are dropped, so one huge session pins no memory.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuf = 64 << 10

// New returns a Manager over store with the default settings.
func New(store Store) *Manager {
	return &Manager{
		Store:    store,
		Codec:    codec.Default(),
		Cookie:   defaultCookie,
		Lifetime: DefaultLifetime,
		HashIDs:  true,
	}
}

// Open returns the session of r, the stored one its cookie names or a new,
// empty one (see [SessionInterface]). A cookie that is malformed (anything
// but the 43 base64url characters of an id: oversized, truncated, foreign)
// or names a missing, expired or undecodable session is never adopted: the
// new session gets a fresh id if it is saved. When the cookie appears more
// than once, the first well-formed value counts, as browsers send the one
// with the most specific path first. Open fails only on a store error.
func (m *Manager) Open(r *http.Request) (*Session, error) {
	s, err := m.load(r)
	if s == nil && err == nil {
		s = m.newSession()
	}
	return s, err
}

// Save stores s if it changed, refreshes its expiry (see IdleTimeout), or
// deletes it when it became empty or was destroyed, and sets, renews or
// expires the cookie on w (see [SessionInterface]). It adds "Vary: Cookie"
// when the session was used. Call it before the response header is
// written; [Manager.Handler] does that for you. When it fails, the changes
// stay recorded in s and a second Save tries them again.
func (m *Manager) Save(w http.ResponseWriter, r *http.Request, s *Session) error {
	return m.save(w.Header(), r, s, false)
}

// Revoke deletes the stored session with the given store key, as
// [Session.Key] and [Manager.Iterate] report it: the key is used as is,
// never hashed again.
//
// A session bound to an owner is also taken off the owner's list, at the
// cost of a load of the session first.
func (m *Manager) Revoke(ctx context.Context, key string) error {
	rec, found, err := m.Store.Load(ctx, key)
	if err != nil {
		return fmt.Errorf("sessionstore: revoke: %w", err)
	}
	if err := m.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("sessionstore: revoke: %w", err)
	}
	if !found {
		return nil
	}
	m.observe(ctx, EventRevoked)
	if st, err := decodeState(rec.Data, m.codec()); err == nil && st.owner != "" {
		if err := m.removeFromIndex(ctx, st.owner, key); err != nil {
			return fmt.Errorf("sessionstore: revoke: %w", err)
		}
	}
	return nil
}

// StoredSession is one stored session as [Manager.Iterate] sees it.
type StoredSession struct {
	// Key is the store key, for Revoke: the hash of the session's id when
	// HashIDs is set, never the id itself.
	Key       string
	Values    map[string]any
	Flashes   []FlashMessage
	Created   time.Time
	Expiry    time.Time
	Permanent bool
	// Owner is the owner the session is bound to (Session.LogIn), or "".
	Owner string
}

// Iterate calls fn for each live stored session until fn returns false, for
// administration: listing a user's sessions, revoking them with Revoke. It
// needs a store that implements [Iterator] and otherwise fails with an
// error wrapping errors.ErrUnsupported. Sessions that no longer decode are
// logged and skipped. Whether fn may call the store (Revoke) while the walk
// runs is up to the store; the memory store allows it.
func (m *Manager) Iterate(ctx context.Context, fn func(StoredSession) bool) error {
	it, ok := m.Store.(Iterator)
	if !ok {
		return fmt.Errorf("sessionstore: iterate: %T cannot iterate: %w", m.Store, errors.ErrUnsupported)
	}
	err := it.Iterate(ctx, func(key string, rec Record) bool {
		if _, fwd := forwardOf(rec.Data); fwd || isIndex(rec.Data) {
			return true // the old id of a renewed session, or an owner's index
		}
		st, err := decodeState(rec.Data, m.codec())
		if err != nil {
			m.logger().WarnContext(ctx, "sessionstore: iterate: skipping a session that does not decode", "error", err)
			return true
		}
		return fn(StoredSession{
			Key: key, Values: st.vals(), Flashes: st.flashes,
			Created: st.created, Expiry: rec.Expiry, Permanent: st.permanent, Owner: st.owner,
		})
	})
	if err != nil {
		return fmt.Errorf("sessionstore: iterate: %w", err)
	}
	return nil
}

// Lookup returns the stored session with the given store key, as
// [Session.Key] and [Manager.Iterate] report it (never hashed again). It
// reports false for a missing or expired key, the old id of a renewed
// session (a forward) and a record that does not decode.
func (m *Manager) Lookup(ctx context.Context, key string) (StoredSession, bool, error) {
	rec, found, err := m.Store.Load(ctx, key)
	if err != nil {
		return StoredSession{}, false, fmt.Errorf("sessionstore: lookup: %w", err)
	}
	if !found {
		return StoredSession{}, false, nil
	}
	st, err := decodeState(rec.Data, m.codec())
	if err != nil {
		return StoredSession{}, false, nil
	}
	return StoredSession{
		Key: key, Values: st.vals(), Flashes: st.flashes, Created: st.created,
		Expiry: rec.Expiry, Permanent: st.permanent, Owner: st.owner,
	}, true, nil
}

// newSession returns a new, empty session.
func (m *Manager) newSession() *Session {
	s := new(Session)
	m.initSession(s)
	return s
}

// initSession makes the zero Session s a new, empty session of m.
func (m *Manager) initSession(s *Session) {
	s.isNew, s.permDefault, s.permanent = true, m.Permanent, m.Permanent
}

// load returns the stored session that r's cookie names, or nil when r has
// no well-formed session cookie or it names no stored session. A stored
// session that does not decode gives a new session that deletes it when
// saved.
func (m *Manager) load(r *http.Request) (*Session, error) {
	return m.loadInto(r, cookieID(r.Header, m.Cookie.Name), nil)
}

// loadInto is load of the session whose id r's cookie carries, filling
// into, a zero Session, rather than a new one when into is not nil.
func (m *Manager) loadInto(r *http.Request, id string, into *Session) (*Session, error) {
	if id == "" {
		return nil, nil
	}
	ctx, end := m.begin(r.Context(), StepOpen)
	s, err := m.loadID(ctx, id, into)
	if end != nil {
		end(err)
	}
	return s, err
}

// loadID returns the stored session of id, or nil; see loadInto for into.
func (m *Manager) loadID(ctx context.Context, id string, into *Session) (*Session, error) {
	key := m.storeKey(id)
	rec, found, err := m.loadRecord(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: open: %w", err)
	}
	if _, fwd := forwardOf(rec.Data); !found || fwd {
		// A forward is the old id of a renewed session: never adopted.
		m.observe(ctx, EventExpired)
		return nil, nil
	}
	s := into
	if s == nil {
		s = new(Session)
	}
	m.initSession(s)
	st, err := decodeState(rec.Data, m.codec())
	if err != nil {
		m.logger().WarnContext(ctx, "sessionstore: stored session does not decode; starting a fresh one", "error", err)
		m.observe(ctx, EventUndecodable)
		s.key, s.stale = key, true
		return s, nil
	}
	s.state = st
	s.id, s.key, s.stored, s.isNew = id, key, true, false
	s.version, s.expiry, s.raw = rec.Version, rec.Expiry, rec.Data
	return s, nil
}

// save is Save on a response header. late says the header was sent, so no
// cookie can be set any more.
func (m *Manager) save(h http.Header, r *http.Request, s *Session, late bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accessed && !late {
		addVary(h, &s.varyBuf)
	}
	if !s.dirty() && (!s.stored || m.IdleTimeout <= 0) {
		return nil // the common case, kept free of clock reads
	}
	if s.dropped {
		// The session ended under this request: what it changes afterwards
		// is dropped too, and no stray session is created.
		s.ops = clearOps(s.ops)
		s.renew, s.destroyed, s.stale = false, false, false
		return nil
	}
	ctx, end := m.begin(r.Context(), StepSave)
	sv := &s.sv // in the session: a save allocates no saving
	*sv = saving{m: m, s: s, ctx: ctx, now: m.clock(), late: late}
	err := sv.run(h, r)
	if end != nil {
		end(err)
	}
	return err
}

// run saves a session that has something to write (or refresh) on h.
func (sv *saving) run(h http.Header, r *http.Request) error {
	m, s, late := sv.m, sv.s, sv.late
	if !s.dirty() {
		return sv.refresh()
	}
	wasPermanent := s.stored && s.loadedPermanent()
	if err := sv.commit(); err != nil {
		return err // the changes stay recorded: a later Save tries again
	}
	s.ops = clearOps(s.ops)
	drop := s.dropCookie
	s.dropCookie = false
	switch {
	case sv.newID || (s.stored && !s.merged && s.permanent != wasPermanent):
		if late { // create and renew refuse a new id when late: Permanent changed
			return fmt.Errorf("sessionstore: save: Permanent changed; the cookie cannot follow: %w", ErrHeaderSent)
		}
		return m.writeCookie(h, r, s, sv.now)
	case drop && !late:
		return m.writeCookie(h, r, nil, sv.now)
	}
	return nil
}

// saving is one save of a session, whose lock it holds.
type saving struct {
	m     *Manager
	s     *Session
	ctx   context.Context
	now   time.Time
	late  bool // the response header was sent: no new cookie possible
	newID bool // the session got a fresh id: the client needs its cookie
}

// commit writes the changes of the session to the store, then keeps the
// owner's index in step (see owners.go).
func (sv *saving) commit() error {
	s := sv.s
	oldKey, lg := s.key, s.login
	if err := sv.write(); err != nil {
		return err
	}
	return sv.index(oldKey, lg)
}

// write writes the changes of the session to the store.
func (sv *saving) write() error {
	s := sv.s
	sw, versioned := sv.m.Store.(Swapper)
	if s.stale || s.destroyed && !(versioned && s.stored) {
		if err := sv.discard(); err != nil {
			return err
		}
	}
	if s.renew && s.stored && !s.destroyed && !s.empty() && sv.late {
		return fmt.Errorf("sessionstore: save: RenewID needs a new cookie; nothing saved: %w", ErrHeaderSent)
	}
	if versioned && s.stored {
		if err := sv.queued(sw); err != nil {
			return err
		}
		if s.stored || s.dropped {
			return nil
		}
		// Destroyed: what the request stored after Destroy goes under a new id.
	}
	if !s.stored {
		return sv.create()
	}
	if s.renew && !s.empty() {
		return sv.renew()
	}
	s.renew = false // an emptied session is deleted: nothing to renew
	return sv.overwrite()
}

// index updates the owner's index after a save that logged in (lg), renewed
// an owned session stored under oldKey, or destroyed one. A login whose
// index write fails is undone, so that no live session is missing from its
// owner's list.
func (sv *saving) index(oldKey string, lg *login) error {
	s, m := sv.s, sv.m
	if s.endOwner != "" {
		owner, key := s.endOwner, cmp.Or(s.endedKey, oldKey)
		s.endOwner, s.endedKey = "", ""
		if err := m.removeFromIndex(sv.ctx, owner, key); err != nil {
			// The session is gone: its entry is never listed, and pruned later.
			m.logger().WarnContext(sv.ctx, "sessionstore: a destroyed session stays in its owner's index", "error", err)
		}
	}
	switch {
	case s.dropped || !s.stored || !sv.newID:
		s.login = nil
		return nil
	case lg != nil && s.owner == lg.owner:
		s.login = nil
		if err := m.addToIndex(sv.ctx, lg.owner, s.key, &s.state, lg.meta); err != nil {
			sv.undoLogin()
			return fmt.Errorf("sessionstore: save: log in: %w", err)
		}
	case s.owner != "" && oldKey != "":
		if err := m.moveInIndex(sv.ctx, s.owner, oldKey, s.key); err != nil {
			return fmt.Errorf("sessionstore: save: renew an owned session: %w", err)
		}
	}
	return nil
}

// undoLogin deletes the session a failed login saved.
func (sv *saving) undoLogin() {
	s := sv.s
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sv.ctx), cleanupTimeout)
	defer cancel()
	if err := sv.m.Store.Delete(ctx, s.key); err != nil {
		sv.m.logger().ErrorContext(ctx, "sessionstore: a login failed and its session could not be deleted", "error", err)
	}
	s.forget()
	sv.newID = false
}

// discard deletes the record of a destroyed or undecodable session and
// leaves the session new: what the request stores next goes under a fresh id.
func (sv *saving) discard() error {
	s := sv.s
	if s.key != "" {
		if err := sv.m.Store.Delete(sv.ctx, s.key); err != nil {
			return fmt.Errorf("sessionstore: save: delete: %w", err)
		}
		s.dropCookie = true
		if s.destroyed && !s.stale {
			sv.m.observe(sv.ctx, EventDestroyed)
		}
	}
	s.forget()
	s.destroyed, s.stale, s.renew = false, false, false
	return nil
}

// forget leaves s without a stored record.
func (s *Session) forget() {
	s.id, s.key, s.stored, s.version, s.raw, s.expiry = "", "", false, 0, nil, time.Time{}
}

// create stores a session that has no record under a fresh id, unless it is
// empty.
func (sv *saving) create() error {
	s := sv.s
	s.renew = false
	if s.empty() {
		return nil
	}
	if sv.late {
		return fmt.Errorf("sessionstore: save: a new session needs a cookie; nothing saved: %w", ErrHeaderSent)
	}
	if s.created.IsZero() {
		s.created = sv.now
	}
	id := newID()
	key := sv.m.storeKey(id)
	if err := sv.saveAs(key); err != nil {
		return err
	}
	s.id, s.key, s.stored, s.version = id, key, true, 0
	sv.newID = true
	sv.m.observe(sv.ctx, EventCreated)
	return nil
}

// renew stores the session under a fresh id and deletes the old record, on
// a store without Swapper (a versioned store renews in a batch).
func (sv *saving) renew() error {
	s := sv.s
	oldKey, id := s.key, newID()
	key := sv.m.storeKey(id)
	if err := sv.saveAs(key); err != nil {
		return err
	}
	if err := sv.m.Store.Delete(sv.ctx, oldKey); err != nil {
		return fmt.Errorf("sessionstore: save: delete old id: %w", err)
	}
	s.id, s.key, s.stored, s.version, s.renew = id, key, true, 0, false
	sv.newID = true
	sv.m.observe(sv.ctx, EventRenewed)
	return nil
}

// saveAs saves the session under key, unconditionally.
func (sv *saving) saveAs(key string) error {
	exp := sv.expiry()
	err := sv.m.withRecord(sv.s, func(data []byte) error { return sv.m.Store.Save(sv.ctx, key, data, exp) })
	if err != nil {
		return fmt.Errorf("sessionstore: save: %w", err)
	}
	sv.s.expiry = exp
	return nil
}

// overwrite saves the session over its record without a version check (the
// last request to save wins), or deletes it when it became empty.
func (sv *saving) overwrite() error {
	s := sv.s
	if s.empty() {
		if err := sv.m.Store.Delete(sv.ctx, s.key); err != nil {
			return fmt.Errorf("sessionstore: save: delete: %w", err)
		}
		s.forget()
		s.dropCookie = true
		return nil
	}
	return sv.saveAs(s.key)
}

// refresh moves the expiry of an unchanged stored session forward when the
// idle timeout asks for it and the move is worth a write.
func (sv *saving) refresh() error {
	s, m := sv.s, sv.m
	exp := sv.expiry()
	if exp.Sub(s.expiry) <= m.IdleTimeout/touchDivisor {
		return nil
	}
	var err error
	switch st := m.Store.(type) {
	case Toucher:
		_, err = st.Touch(sv.ctx, s.key, exp)
	case Swapper:
		// Losing means another request wrote, which moved the expiry too.
		_, err = st.CompareAndSwap(sv.ctx, s.key, s.version, s.raw, exp)
	default:
		err = m.Store.Save(sv.ctx, s.key, s.raw, exp)
	}
	if err != nil {
		return fmt.Errorf("sessionstore: refresh expiry: %w", err)
	}
	s.expiry = exp
	return nil
}

// expiry returns when the session expires if saved now:
// min(created + Lifetime, now + IdleTimeout).
func (sv *saving) expiry() time.Time { return sv.m.expiryOf(&sv.s.state, sv.now) }

// expiryOf returns when a session of state st expires if saved at now.
func (m *Manager) expiryOf(st *state, now time.Time) time.Time {
	exp := st.created.Add(m.lifetime())
	if m.IdleTimeout > 0 {
		if idle := now.Add(m.IdleTimeout); idle.Before(exp) {
			return idle
		}
	}
	return exp
}

// loadedPermanent reports whether the cookie the client holds is permanent:
// the flag before this request's SetPermanent calls. The caller holds s.mu.
func (s *Session) loadedPermanent() bool {
	p := s.permanent
	for i := len(s.ops) - 1; i >= 0; i-- {
		if s.ops[i].kind == opPermanent {
			p = !s.ops[i].on
		}
	}
	return p
}

// loadRecord loads the record under key. Its Data is the Manager's own
// copy, which it decodes and never modifies.
func (m *Manager) loadRecord(ctx context.Context, key string) (Record, bool, error) {
	return m.Store.Load(ctx, key)
}

// recordCap is the capacity of a fresh buffer for encoding a record that
// was last n bytes long: room for some growth, so the encoding rarely
// reallocates.
func recordCap(n int) int {
	return max(n+n/4+16, 128)
}

// withRecord encodes the state of s into a pooled buffer and calls fn with it.
func (m *Manager) withRecord(s *Session, fn func(data []byte) error) error {
	bp := bufPool.Get().(*[]byte)
	data, err := encodeState((*bp)[:0], m.codec(), &s.state)
	if err == nil {
		err = fn(data)
		*bp = data
	}
	if cap(*bp) <= maxPooledBuf {
		bufPool.Put(bp)
	}
	return err
}

// storeKey returns the store key of id.
func (m *Manager) storeKey(id string) string {
	if m.HashIDs {
		return m.keys.key(id)
	}
	return id
}

// writeCookie sets the cookie carrying the id of s on h, or, when s is nil,
// a cookie telling the client to drop its session cookie.
func (m *Manager) writeCookie(h http.Header, r *http.Request, s *Session, now time.Time) error {
	co := &m.Cookie
	c := &http.Cookie{
		Name: co.Name, Path: co.Path, Domain: co.Domain,
		HttpOnly: co.HttpOnly, SameSite: co.SameSite, Partitioned: co.Partitioned,
		Secure: co.Secure == SecureAlways || co.Secure == SecureAuto && r.TLS != nil,
	}
	switch {
	case s == nil:
		c.MaxAge, c.Expires = -1, time.Unix(1, 0)
	case s.permanent:
		age := co.Lifetime
		if age <= 0 {
			age = s.created.Add(m.lifetime()).Sub(now)
		}
		c.MaxAge = max(1, int(age/time.Second))
		c.Expires = now.Add(time.Duration(c.MaxAge) * time.Second)
		fallthrough
	default:
		c.Value = s.id
	}
	if err := setCookie(h, c); err != nil {
		return fmt.Errorf("sessionstore: save: %w", err)
	}
	addVary(h, nil)
	addNoCacheCookie(h)
	return nil
}

// handleError passes err to the ErrorHandler or the default one.
func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.ErrorHandler != nil {
		m.ErrorHandler(w, r, err)
		return
	}
	if clientGone(r, err) {
		m.logger().DebugContext(r.Context(), "sessionstore: the client went away during the request",
			"error", err, "method", r.Method, "path", r.URL.Path)
		return
	}
	m.logger().ErrorContext(r.Context(), "sessionstore: session error",
		"error", err, "method", r.Method, "path", r.URL.Path)
	if !errors.Is(err, ErrHeaderSent) {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

func (m *Manager) codec() codec.Codec {
	if m.Codec == nil {
		return codec.MsgPack{}
	}
	return m.Codec
}

// lifetime is Lifetime, or its default when unset.
func (m *Manager) lifetime() time.Duration {
	if m.Lifetime <= 0 {
		return DefaultLifetime
	}
	return m.Lifetime
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.Default()
	}
	return m.Logger
}

func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// clientGone reports whether err is only the end of r's own context by
// cancellation: the client closed the connection (a closed tab, a dropped
// favicon request), which is no server error. A deadline that passed is.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

// addNoCacheCookie marks a response that sets or clears the session cookie
// so that no shared cache hands the cookie to another client: a
// Cache-Control of no-cache="Set-Cookie" (RFC 9111 section 5.2.2.4), unless
// the response is already private or not stored at all.
func addNoCacheCookie(h http.Header) {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-store" || d == "private" || d == `no-cache="set-cookie"` {
				return
			}
		}
	}
	h["Cache-Control"] = append(h["Cache-Control"], `no-cache="Set-Cookie"`)
}

// addVary adds "Cookie" to the Vary header unless it is there. When the
// header has no Vary yet and buf is not nil, its value lives in buf (the
// Session's), sparing an allocation per request.
func addVary(h http.Header, buf *[1]string) {
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Cookie") {
				return
			}
		}
	}
	if len(h["Vary"]) == 0 && buf != nil {
		buf[0] = "Cookie"
		h["Vary"] = buf[:1:1] // full: an append copies, never writes into buf
		return
	}
	h["Vary"] = append(h["Vary"], "Cookie")
}

// clearOps empties ops, dropping the values it references.
func clearOps(ops []op) []op {
	clear(ops)
	return ops[:0]
}
