package sessionstore

import (
	"github.com/sessionstore/sessionstore/codec"
	"maps"
	"slices"
	"sync"
	"time"
)

// Session is one visitor's session during one request: its values, its flash
// messages and the flags New, Modified and Permanent of Flask's sessions.
//
// A Session comes from [Manager.Open] or, inside [Manager.Handler], from
// [FromContext]; the zero Session is a new, empty one tied to no store, as
// tests need. Its methods are safe for concurrent use by the goroutines of
// one request. It is not meant to outlive the request: changes made after the
// Manager saved it for the last time are lost (see [Manager.Handler]).
//
// Besides the values, the session records what this request did to them —
// each key it set or deleted, each Update function, Clear, each flash
// message added or taken — and on a versioned store ([Swapper]) the Manager
// merges concurrent requests of one session with them:
//   - Requests of one session in one process queue their saves, and one
//     compare-and-swap writes the changes of all the requests waiting: the
//     latest record with each request's changes applied in the order they
//     saved. When another process saved first, the Manager loads the latest
//     record, applies the changes again and retries until the request's
//     context ends. Two requests that set different keys both keep their
//     change; for the same key the one that saves last wins.
//   - Login merges: a request that opened the session before a concurrent
//     RenewID saves its changes into the renewed session and sets no cookie
//     of its own, for up to a minute after the renewal. Login wins for late
//     requests too: a request that arrives with the old id within that
//     minute sees an empty session, stores nothing, sets no cookie and
//     reports Dropped, so a page racing its own login stays logged in.
//   - Logout wins: a request that opened the session before a concurrent
//     Destroy, [Manager.Revoke] or expiry drops its changes, stores nothing
//     and sets no cookie; [Session.Dropped] reports it.
type Session struct {
	mu sync.Mutex

	state      // the values as this request sees them
	ops   []op // what this request changed since its last save, in order

	id      string    // the id the cookie carries; "" until the session is stored
	key     string    // store key of the record loaded or saved under id
	version uint64    // Record.Version of that record
	expiry  time.Time // Record.Expiry of that record
	raw     []byte    // the stored bytes, re-saved to refresh an idle session without Touch

	phase   phase   // where the session stands in the store (see commit.go)
	pending pending // what the next save must do besides writing ops
	login   *login  // LogIn's binding, for the save to list in the owner's index

	isNew       bool // no stored session was found for this request
	permDefault bool // Manager.Permanent: the flag of a session started afresh
	modified    bool // changed during this request
	accessed    bool // a method was called: the response depends on the cookie
	opsBuf      [2]op

	// What a save needs in memory, kept here so that a save allocates none
	// of it (see commit.go): the save itself, its place in its session's
	// commit queue, and a queue for when no other save of the session is
	// under way.
	sv      commit
	qs      queuedSave
	cq      commitQueue
	varyBuf [1]string // the Vary header's value, when the response has none
}

// state is what a stored record holds.
type state struct {
	values map[string]any
	// lazy, when set, holds the values still encoded, and values holds only
	// those set since (nil if none): a request that reads or sets a few
	// values decodes just the ones it reads, and its save copies the bytes
	// of the others (codec.Patcher). Any other change decodes them all.
	lazy      lazyValues
	flashes   []FlashMessage
	created   time.Time
	permanent bool
	owner     string // see Session.LogIn
}

// opKind says what an op does.
type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opUpdate
	opClear
	opFlash
	opTakeFlash
	opPermanent
	opOwner
)

// op is one change a request made, kept so it can be applied again to a
// newer record after a lost compare-and-swap.
type op struct {
	kind  opKind
	key   string
	val   any
	fn    func(old any) any
	flash FlashMessage
	on    bool
}

// apply makes the change of o to st.
func (o *op) apply(st *state) {
	switch o.kind {
	case opSet:
		st.set(o.key, o.val)
	case opDelete:
		delete(st.vals(), o.key)
	case opUpdate:
		old, _ := st.lookup(o.key)
		st.set(o.key, o.fn(old))
	case opClear:
		st.values, st.flashes, st.lazy = nil, nil, lazyValues{}
	case opFlash:
		st.flashes = append(st.flashes, o.flash)
	case opTakeFlash:
		if i := slices.Index(st.flashes, o.flash); i >= 0 {
			st.flashes = slices.Delete(st.flashes, i, i+1)
		}
	case opPermanent:
		st.permanent = o.on
	case opOwner:
		st.owner = o.key
	}
}

func (st *state) set(key string, val any) {
	if st.values == nil {
		st.values = make(map[string]any)
	}
	st.values[key] = val
}

// empty reports whether st holds nothing worth storing: no value, no flash
// message and no owner.
func (st *state) empty() bool {
	return len(st.values) == 0 && st.lazy.data == nil && len(st.flashes) == 0 && st.owner == ""
}

// lazyValues are values still encoded, which the codec can read one at a
// time (codec.LazyDecoder), and whose decoding it has checked: decodeState
// keeps them only when Scan accepts them, and only when there is at least
// one.
type lazyValues struct {
	data    []byte
	entries []codec.Entry // where data's entries lie, from Scan
	dec     codec.LazyDecoder
}

// vals returns the values, decoding them first if they are lazy.
func (st *state) vals() map[string]any {
	if st.lazy.data != nil {
		// Scan checked that this succeeds.
		m, err := st.lazy.dec.DecodeShared(st.lazy.data)
		if err != nil || m == nil {
			m = make(map[string]any, len(st.values))
		}
		maps.Copy(m, st.values) // what was set since
		st.values, st.lazy = m, lazyValues{}
	}
	return st.values
}

// lookup returns the value under key, decoding only it if values are lazy.
func (st *state) lookup(key string) (any, bool) {
	v, ok := st.values[key]
	if !ok && st.lazy.data != nil {
		return st.lazy.dec.FindShared(st.lazy.data, st.lazy.entries, key)
	}
	return v, ok
}

// record applies o to the session and remembers it for a later merge. The
// caller holds s.mu.
func (s *Session) record(o op) {
	o.apply(&s.state)
	if s.ops == nil {
		s.ops = s.opsBuf[:0]
	}
	s.ops = append(s.ops, o)
	s.modified = true
}

// lock locks s and marks it accessed; every exported method starts with it.
func (s *Session) lock() {
	s.mu.Lock()
	s.accessed = true
}

// Get returns the value stored under key and whether there is one. A
// slice or map it returns may be a fresh copy on each call (a session that
// is only read decodes just the values it is asked for): to change one,
// Put the changed value.
func (s *Session) Get(key string) (any, bool) {
	s.lock()
	defer s.mu.Unlock()
	return s.lookup(key)
}

// Put stores val under key, replacing any value there. val must be of a type
// the Manager's Codec encodes (see package codec); otherwise the save fails
// with an error wrapping codec.ErrEncode, which goes to the ErrorHandler.
func (s *Session) Put(key string, val any) {
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opSet, key: key, val: val})
}

// Delete removes key. Deleting a missing key still counts as a change: it is
// applied again on a merge, removing a value a concurrent request stored.
func (s *Session) Delete(key string) {
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opDelete, key: key})
}

// Pop removes key and returns the value it held.
func (s *Session) Pop(key string) (any, bool) {
	s.lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(key)
	if ok {
		s.record(op{kind: opDelete, key: key})
	}
	return v, ok
}

// Update stores fn(old) under key, where old is the value stored there (nil
// when there is none), in one step: use it for a change that depends on the
// current value, such as a counter. When the Manager merges this request
// with a concurrent one (see [Session]), fn is called again with the value
// the other request stored, so two increments both count. fn may therefore
// run more than once and must not have side effects; it runs with the
// session locked and must not call its methods.
func (s *Session) Update(key string, fn func(old any) any) {
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opUpdate, key: key, fn: fn})
}

// Clear removes every value and flash message. On a merge it is applied
// again too, so it also removes what a concurrent request stored before it.
func (s *Session) Clear() {
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opClear})
}

// Destroy deletes the session: its stored record is deleted when the
// session is saved and the client's cookie expired. The session is then
// empty and new; what the request puts in it afterwards (a "logged out"
// flash message, say) is saved under a fresh id.
func (s *Session) Destroy() {
	s.lock()
	defer s.mu.Unlock()
	s.pending = destroy
	s.login = nil
	s.state = state{permanent: s.permDefault}
	s.ops = clearOps(s.ops)
	s.modified = true
}

// RenewID gives the session a fresh id when it is saved, keeping its data:
// the record is stored under the new id, the old one is deleted and the
// cookie replaced. Call it when the privilege level changes, at login
// above all, so an id an attacker planted or saw before is worth nothing.
func (s *Session) RenewID() {
	s.lock()
	defer s.mu.Unlock()
	if s.pending != destroy {
		s.pending = renewID
	}
	s.modified = true
}

// Len returns the number of values.
func (s *Session) Len() int {
	s.lock()
	defer s.mu.Unlock()
	return len(s.vals())
}

// Keys returns the keys of the values, sorted.
func (s *Session) Keys() []string {
	s.lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.vals()))
}

// Values returns a copy of the values (the top-level map only).
func (s *Session) Values() map[string]any {
	s.lock()
	defer s.mu.Unlock()
	return maps.Clone(s.vals())
}

// IsNew reports whether the request brought no stored session: it had no
// session cookie, or one naming a missing, expired or undecodable session.
// It is Flask's session.new.
func (s *Session) IsNew() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.isNew
}

// Modified reports whether the session was changed during this request.
// It is Flask's session.modified.
func (s *Session) Modified() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.modified
}

// Permanent reports whether the session's cookie outlives the browser
// session (it has a Max-Age). The store expires the session either way.
func (s *Session) Permanent() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.permanent
}

// SetPermanent makes the session's cookie permanent (a Max-Age, as for
// "remember me") or a browser-session cookie, which the browser drops when
// it closes. The cookie is sent again when the setting changes.
func (s *Session) SetPermanent(on bool) {
	s.lock()
	defer s.mu.Unlock()
	if s.permanent != on {
		s.record(op{kind: opPermanent, on: on})
	}
}

// Key returns the store key of the session: the hash of its id (or the id
// itself when Manager.PlainIDs is set), which [Manager.Revoke] takes and
// [Manager.Iterate] reports. It is "" while the session is not stored.
func (s *Session) Key() string {
	s.lock()
	defer s.mu.Unlock()
	return s.key
}

// Created returns when the session was first saved; the zero time for a
// session not saved yet.
func (s *Session) Created() time.Time {
	s.lock()
	defer s.mu.Unlock()
	return s.created
}

// Expiry returns when the stored session expires as it was loaded or last
// saved in this request; the zero time for a session not stored.
func (s *Session) Expiry() time.Time {
	s.lock()
	defer s.mu.Unlock()
	return s.expiry
}

// Dropped reports whether a save of this request found the session ended
// by another request — destroyed (a logout), revoked, or expired — since
// this request opened it, or the request arrived bearing an id renewed
// moments ago (a late request of a page racing its own login), and
// therefore drops this request's changes: nothing is stored, no cookie is
// set, and changes made afterwards are dropped too. A late request sees it
// from the start. Logout wins over the requests that were under way. Check it
// after the session was saved (with [Manager.Handler], once the response
// header was written). The Manager logs each drop at level Debug.
func (s *Session) Dropped() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.phase == ended
}

// dirty reports whether a save has anything to write. The caller holds s.mu.
func (s *Session) dirty() bool {
	return len(s.ops) > 0 || s.pending != keep || s.phase == undecodable
}
