package sessionstore

import (
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
// Create it with [New], or as a literal (&Manager{Store: s}): every field's
// zero value means its default, so both give the same Manager. Change the
// settings before the first request; they must not change while requests
// are served. Each field's doc says its default.
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
	// type of each value, chosen by measurement (see package codec), also
	// used when nil. Use codec.JSON{} to share sessions with programs in
	// other languages.
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

	// PlainIDs stores each session under its id itself rather than under
	// the SHA-256 hash of the id (base64url-encoded without padding). The
	// hash is the default because then the store's contents (a leaked
	// backup, a timing attack on lookups) give no usable session id; the
	// field is inverted so that the zero value, as in a Manager literal, is
	// that safe setting. Changing it loses every stored session.
	//
	// Default false: ids are hashed.
	PlainIDs bool

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
	// ownerLocks serialises the updates of each owner's index in this process.
	ownerLocks keyedLocks
	// keys remembers the store keys of recent ids (unless PlainIDs).
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

// StoredSession is one stored session as [Manager.Iterate] sees it.
type StoredSession struct {
	// Key is the store key, for Revoke: the hash of the session's id unless
	// PlainIDs is set, never the id itself.
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
		if Inspect(rec).Kind != KindSession {
			return true // the old id of a renewed session, an owner's index
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
	return m.loadInto(r, cookieID(r.Header, m.Cookie.name()), nil)
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
	rec, found, err := m.Store.Load(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: open: %w", err)
	}
	if !found {
		m.observe(ctx, EventExpired)
		return nil, nil
	}
	s := into
	if s == nil {
		s = new(Session)
	}
	m.initSession(s)
	if _, fwd := forwardOf(rec.Data); fwd {
		// A late request of a renewed id: never adopted (fixation), and it
		// starts no session whose cookie would replace the renewed one.
		m.observe(ctx, EventDropped)
		s.phase = ended
		return s, nil
	}
	st, err := decodeState(rec.Data, m.codec())
	if err != nil {
		m.logger().WarnContext(ctx, "sessionstore: stored session does not decode; starting a fresh one", "error", err)
		m.observe(ctx, EventUndecodable)
		s.key, s.version, s.phase = key, rec.Version, undecodable
		return s, nil
	}
	s.state = st
	s.id, s.key, s.phase, s.isNew = id, key, stored, false
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
	if !s.dirty() && (s.phase != stored || m.IdleTimeout <= 0) {
		return nil // the common case, kept free of clock reads
	}
	if s.phase == ended {
		// The session ended under this request: what it changes afterwards
		// is dropped too, and no stray session is created.
		s.ops, s.pending, s.login = clearOps(s.ops), keep, nil
		return nil
	}
	if name := m.Cookie.name(); !validCookieName(name) {
		// Refused before the store is written: a session stored with a
		// cookie that cannot be sent would be an orphan record.
		return fmt.Errorf("sessionstore: save: invalid cookie name %q in Manager.Cookie.Name", name)
	}
	ctx, end := m.begin(r.Context(), StepSave)
	c := &s.sv // in the session: a save allocates no commit
	*c = commit{m: m, s: s, ctx: ctx, now: m.clock(), late: late}
	err := c.run()
	if err == nil {
		s.ops = clearOps(s.ops)
		switch {
		case c.cookie == cookieSet && late: // create and renew refuse a new id when late: Permanent changed
			err = fmt.Errorf("sessionstore: save: Permanent changed; the cookie cannot follow: %w", ErrHeaderSent)
		case c.cookie == cookieSet:
			err = m.writeCookie(h, r, s, c.now)
		case c.cookie == cookieExpire && !late:
			err = m.writeCookie(h, r, nil, c.now)
		}
	}
	if end != nil {
		end(err)
	}
	return err
}

// expiryOf returns when a session of state st expires if saved at now:
// min(created + Lifetime, now + IdleTimeout).
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
	if m.PlainIDs {
		return id
	}
	return m.keys.key(id)
}

// writeCookie sets the cookie carrying the id of s on h, or, when s is nil,
// a cookie telling the client to drop its session cookie.
func (m *Manager) writeCookie(h http.Header, r *http.Request, s *Session, now time.Time) error {
	co := &m.Cookie
	c := &http.Cookie{
		Name: co.name(), Path: co.Path, Domain: co.Domain,
		HttpOnly: !co.ScriptReadable, SameSite: co.SameSite, Partitioned: co.Partitioned,
		Secure: co.secure(r),
	}
	if c.Path == "" {
		c.Path = defaultCookiePath
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
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

// nilCodec is the codec of a Manager whose Codec is nil: codec.Default(),
// made once so that its cache of time zones is shared, not rebuilt per
// request.
var nilCodec = codec.Default()

func (m *Manager) codec() codec.Codec {
	if m.Codec == nil {
		return nilCodec
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
