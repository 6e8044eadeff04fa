package sessionstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Sessions of a user.
//
// A session bound to an owner ([Session.LogIn]) holds the owner in its own
// record, and the owner has an index record in the same Store, under a key
// that no session key can take ("o." and the base64url SHA-256 of the owner;
// session keys are 43 base64url characters without a dot). The index lists
// the owner's sessions: a handle, the session's store key, when it was
// created, the latest it can expire and the metadata recorded at login. It
// is written only at login, at a renewal of an owned session, at logout and
// by the revoke calls, with compare-and-swap where the store has it; an
// ordinary request never reads or writes it. Listing loads each session the
// index names, so a session that ended (logout, revoke, expiry) is never
// listed even before its entry is pruned.
//
//	byte     indexFormat (3)
//	rest     JSON: [{"h": handle, "k": store key, "c": created, "x": latest expiry, "m": metadata}]

const (
	indexFormat = 3
	// ownerKeyPrefix starts the store key of an owner's index.
	ownerKeyPrefix = "o."
	// DefaultMaxOwnerSessions is the default of Manager.MaxOwnerSessions.
	DefaultMaxOwnerSessions = 100
	// handleBytes is the randomness of a handle.
	handleBytes = 16
)

// ErrNoOwner is wrapped by the owner calls given an empty owner.
var ErrNoOwner = errors.New("sessionstore: empty owner")

// ErrUnknownHandle is wrapped by RevokeSession when the owner has no live
// session with that handle.
var ErrUnknownHandle = errors.New("sessionstore: no such session of the owner")

// OwnedSession is one live session of an owner, as [Manager.SessionsOf]
// lists it.
type OwnedSession struct {
	// Handle names the session for [Manager.RevokeSession]. It is random,
	// neither the session id nor its store key, and revokes nothing without
	// the owner: safe to put in a page or a form.
	Handle string
	// Created is when the session was created (before the login that bound it).
	Created time.Time
	// LastSeen is when the session last saw a request, to within a tenth of
	// Manager.IdleTimeout: expiry − IdleTimeout, never before Created. It is
	// the zero time without an idle timeout, since then the expiry does
	// not move.
	LastSeen time.Time
	// Expiry is when the session ends if it sees no other request.
	Expiry time.Time
	// Current reports whether this is the session of the request whose
	// context was passed to SessionsOf.
	Current bool
	// Meta is what the application recorded at login (Session.LogIn).
	Meta map[string]string
}

// indexEntry is one session in an owner's index.
type indexEntry struct {
	Handle  string            `json:"h"`
	Key     string            `json:"k"`
	Created int64             `json:"c"` // Unix nanoseconds
	Latest  int64             `json:"x"` // the latest it can expire: created + Lifetime
	Meta    map[string]string `json:"m,omitempty"`
}

// login is what Session.LogIn recorded for the save to add to the index.
type login struct {
	owner string
	meta  map[string]string
}

// LogIn binds the session to owner (the application's user id) and gives it
// a fresh id when saved, as RenewID does; call it once the user is
// authenticated. The session is then listed by [Manager.SessionsOf] with
// meta (say the user agent and IP address: they are personal data, recorded
// only if you pass them) and revoked by [Manager.RevokeSession] and
// [Manager.RevokeAll]. A session has at most one owner: LogIn replaces an
// earlier one. Destroy (logout) ends the binding. An empty owner is
// ignored.
//
// The save that carries the login costs one write more than a RenewID: the
// owner's index.
func (s *Session) LogIn(owner string, meta map[string]string) {
	if owner == "" {
		return
	}
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opOwner, key: owner})
	s.login = &login{owner: owner, meta: maps.Clone(meta)}
	s.renew = true
}

// Owner returns the owner the session is bound to, or "".
func (s *Session) Owner() string {
	s.lock()
	defer s.mu.Unlock()
	return s.owner
}

// ownerKey returns the store key of owner's index.
func ownerKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return ownerKeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// isIndex reports whether stored bytes are an owner's index.
func isIndex(data []byte) bool { return len(data) > 0 && data[0] == indexFormat }

// ownerIndex is an owner's index as loaded, with the version it was loaded at.
type ownerIndex struct {
	key     string
	entries []indexEntry
	version uint64
	found   bool
}

// loadIndex loads the index of owner.
func (m *Manager) loadIndex(ctx context.Context, owner string) (*ownerIndex, error) {
	ix := &ownerIndex{key: ownerKey(owner)}
	rec, found, err := m.Store.Load(ctx, ix.key)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: load owner index: %w", err)
	}
	if !found || !isIndex(rec.Data) {
		return ix, nil
	}
	if err := json.Unmarshal(rec.Data[1:], &ix.entries); err != nil {
		m.logger().WarnContext(ctx, "sessionstore: an owner's index does not decode; starting it afresh", "error", err)
		ix.entries = nil
	}
	ix.version, ix.found = rec.Version, true
	return ix, nil
}

// updateIndex applies change to owner's index and writes it back, over the
// version loaded when the store has compare-and-swap, retrying with the
// latest index until the context ends. change may run more than once.
// Entries past their latest expiry are pruned on every write.
func (m *Manager) updateIndex(ctx context.Context, owner string, change func(ix *ownerIndex) error) error {
	// Updates of one index in this process take turns, so that concurrent
	// logins of one user do not fight each other through the database.
	unlock := m.ownerLocks.lock(ownerKey(owner))
	defer unlock()
	sw, versioned := m.Store.(Swapper)
	for attempt := 0; ; attempt++ {
		if attempt > 1 {
			if err := sleepBackoff(ctx, attempt); err != nil {
				return fmt.Errorf("sessionstore: owner index: %w: %w", ErrConflict, err)
			}
		}
		ix, err := m.loadIndex(ctx, owner)
		if err != nil {
			return err
		}
		if err := change(ix); err != nil {
			return err
		}
		now := m.clock()
		ix.entries = slices.DeleteFunc(ix.entries, func(e indexEntry) bool { return !time.Unix(0, e.Latest).After(now) })
		data, exp := encodeIndex(ix.entries, now)
		if !versioned {
			if err := m.Store.Save(ctx, ix.key, data, exp); err != nil {
				return fmt.Errorf("sessionstore: save owner index: %w", err)
			}
			return nil
		}
		version := ix.version
		if !ix.found {
			version = 0
		}
		ok, err := sw.CompareAndSwap(ctx, ix.key, version, data, exp)
		if err != nil {
			return fmt.Errorf("sessionstore: save owner index: %w", err)
		}
		if ok {
			return nil
		}
	}
}

// keyedLocks is a mutex per key, held only while in use.
type keyedLocks struct {
	mu    sync.Mutex
	byKey map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.byKey == nil {
		k.byKey = make(map[string]*keyedLock)
	}
	l := k.byKey[key]
	if l == nil {
		l = &keyedLock{}
		k.byKey[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.byKey, key)
		}
		k.mu.Unlock()
	}
}

// encodeIndex returns the stored form of entries and its expiry: the latest
// expiry of an entry, or now (gone) when there is none.
func encodeIndex(entries []indexEntry, now time.Time) ([]byte, time.Time) {
	if len(entries) == 0 {
		return nil, now.Add(-time.Hour)
	}
	latest := int64(0)
	for _, e := range entries {
		latest = max(latest, e.Latest)
	}
	body, _ := json.Marshal(entries) // strings and numbers only: cannot fail
	return append([]byte{indexFormat}, body...), time.Unix(0, latest)
}

// addToIndex lists the session just saved under key as owner's, with the
// metadata of its login. At the cap (MaxOwnerSessions), entries of sessions
// that ended are dropped first, then the oldest session is revoked.
func (m *Manager) addToIndex(ctx context.Context, owner, key string, st *state, meta map[string]string) error {
	entry := indexEntry{
		Handle: newHandle(), Key: key, Created: st.created.UnixNano(),
		Latest: st.created.Add(m.lifetime()).UnixNano(), Meta: meta,
	}
	var evicted []string
	err := m.updateIndex(ctx, owner, func(ix *ownerIndex) error {
		evicted = evicted[:0]
		ix.entries = slices.DeleteFunc(ix.entries, func(e indexEntry) bool { return e.Key == key })
		if len(ix.entries) >= m.maxOwnerSessions() {
			ix.entries = m.liveEntries(ctx, owner, ix.entries)
		}
		for len(ix.entries) >= m.maxOwnerSessions() {
			oldest := 0
			for i, e := range ix.entries {
				if e.Created < ix.entries[oldest].Created {
					oldest = i
				}
			}
			evicted = append(evicted, ix.entries[oldest].Key)
			ix.entries = slices.Delete(ix.entries, oldest, oldest+1)
		}
		ix.entries = append(ix.entries, entry)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range evicted {
		if err := m.Store.Delete(ctx, k); err != nil {
			return fmt.Errorf("sessionstore: revoke the oldest session of an owner at the cap: %w", err)
		}
	}
	return nil
}

// liveEntries returns the entries whose session is still stored and owned
// by owner. An entry whose session cannot be loaded is kept.
func (m *Manager) liveEntries(ctx context.Context, owner string, entries []indexEntry) []indexEntry {
	return slices.DeleteFunc(entries, func(e indexEntry) bool {
		_, ok, err := m.ownedSession(ctx, owner, e)
		return err == nil && !ok
	})
}

// moveInIndex follows a renewal of an owned session: its entry names the
// new key.
func (m *Manager) moveInIndex(ctx context.Context, owner, from, to string) error {
	return m.updateIndex(ctx, owner, func(ix *ownerIndex) error {
		for i := range ix.entries {
			if ix.entries[i].Key == from {
				ix.entries[i].Key = to
			}
		}
		return nil
	})
}

// removeFromIndex drops the entries of the given keys from owner's index.
func (m *Manager) removeFromIndex(ctx context.Context, owner string, keys ...string) error {
	return m.updateIndex(ctx, owner, func(ix *ownerIndex) error {
		ix.entries = slices.DeleteFunc(ix.entries, func(e indexEntry) bool { return slices.Contains(keys, e.Key) })
		return nil
	})
}

// ownedSession loads the session of entry e and reports whether it is live
// and still owned by owner.
func (m *Manager) ownedSession(ctx context.Context, owner string, e indexEntry) (Record, bool, error) {
	rec, found, err := m.Store.Load(ctx, e.Key)
	if err != nil || !found {
		return rec, false, err
	}
	st, err := decodeState(rec.Data, m.codec())
	if err != nil || st.owner != owner {
		return rec, false, nil
	}
	return rec, true, nil
}

// SessionsOf lists the live sessions of owner, oldest first. When ctx is a
// request's context inside [Manager.Handler], the request's own session is
// marked Current. It costs a load of the owner's index and one of each
// session it names.
func (m *Manager) SessionsOf(ctx context.Context, owner string) ([]OwnedSession, error) {
	if owner == "" {
		return nil, fmt.Errorf("sessionstore: sessions of: %w", ErrNoOwner)
	}
	ix, err := m.loadIndex(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: sessions of: %w", err)
	}
	current := m.currentKey(ctx)
	var out []OwnedSession
	for _, e := range ix.entries {
		rec, ok, err := m.ownedSession(ctx, owner, e)
		if err != nil {
			return nil, fmt.Errorf("sessionstore: sessions of: load: %w", err)
		}
		if !ok {
			continue
		}
		os := OwnedSession{
			Handle: e.Handle, Created: time.Unix(0, e.Created), Expiry: rec.Expiry,
			Current: e.Key == current, Meta: maps.Clone(e.Meta),
		}
		if m.IdleTimeout > 0 {
			os.LastSeen = rec.Expiry.Add(-m.IdleTimeout)
			if os.LastSeen.Before(os.Created) {
				os.LastSeen = os.Created
			}
		}
		out = append(out, os)
	}
	slices.SortStableFunc(out, func(a, b OwnedSession) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// currentKey returns the store key of the session in ctx, or "".
func (m *Manager) currentKey(ctx context.Context) string {
	s, _ := ctx.Value(m).(*Session)
	if s == nil {
		s = FromContext(ctx)
	}
	if s == nil {
		return ""
	}
	return s.Key()
}

// RevokeSession ends the session of owner that handle names (see
// [OwnedSession]): its record is deleted, so its next request starts a
// fresh, empty session and requests of it under way store nothing (see
// [Session.Dropped]). It fails with an error wrapping ErrUnknownHandle when
// owner has no such session.
func (m *Manager) RevokeSession(ctx context.Context, owner, handle string) error {
	if owner == "" {
		return fmt.Errorf("sessionstore: revoke session: %w", ErrNoOwner)
	}
	ix, err := m.loadIndex(ctx, owner)
	if err != nil {
		return fmt.Errorf("sessionstore: revoke session: %w", err)
	}
	i := slices.IndexFunc(ix.entries, func(e indexEntry) bool { return e.Handle == handle })
	if i < 0 {
		return fmt.Errorf("sessionstore: revoke session: %w", ErrUnknownHandle)
	}
	key := ix.entries[i].Key
	if err := m.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("sessionstore: revoke session: %w", err)
	}
	m.observe(ctx, EventRevoked)
	if err := m.removeFromIndex(ctx, owner, key); err != nil {
		return fmt.Errorf("sessionstore: revoke session: %w", err)
	}
	return nil
}

// RevokeAll ends every session of owner ("sign out everywhere"), or, with
// exceptCurrent, every one but the session of the request whose context is
// ctx ("sign out everywhere else"). It returns how many it ended. A login of
// owner concurrent with it either is ended by it or, when it completes
// after, stays listed: a live session is never missing from the list.
func (m *Manager) RevokeAll(ctx context.Context, owner string, exceptCurrent bool) (int, error) {
	if owner == "" {
		return 0, fmt.Errorf("sessionstore: revoke all: %w", ErrNoOwner)
	}
	ix, err := m.loadIndex(ctx, owner)
	if err != nil {
		return 0, fmt.Errorf("sessionstore: revoke all: %w", err)
	}
	keep := ""
	if exceptCurrent {
		keep = m.currentKey(ctx)
	}
	var keys []string
	for _, e := range ix.entries {
		if e.Key != keep {
			keys = append(keys, e.Key)
		}
	}
	// Sessions first, then their entries: a crash between the two leaves
	// entries of ended sessions, which are never listed, rather than live
	// sessions missing from the list.
	for _, k := range keys {
		if err := m.Store.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("sessionstore: revoke all: %w", err)
		}
		m.observe(ctx, EventRevoked)
	}
	if err := m.removeFromIndex(ctx, owner, keys...); err != nil {
		return 0, fmt.Errorf("sessionstore: revoke all: %w", err)
	}
	return len(keys), nil
}

// newHandle returns a random handle.
func newHandle() string {
	var b [handleBytes]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// maxOwnerSessions is MaxOwnerSessions, or its default when unset.
func (m *Manager) maxOwnerSessions() int {
	if m.MaxOwnerSessions <= 0 {
		return DefaultMaxOwnerSessions
	}
	return m.MaxOwnerSessions
}
