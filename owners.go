package sessionstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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
// record, and the owner has an index record in the same Store (see
// record.go) listing the owner's sessions: a handle, the session's store
// key, when it was created, the latest it can expire and the metadata
// recorded at login. It is written at login, at a renewal of an owned
// session, at logout and by the revoke calls, through the save core's swap
// and retry (commit.go), which also state the order that keeps it true; an
// ordinary request never reads or writes it. Listing loads each session the
// index names, so a session that ended is never listed even before its
// entry is pruned.

const (
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
	if s.phase == ended && s.key == "" {
		// Opened from a forward (a late request of a renewed id): it stores
		// nothing, but a login is the user's own intent, so it starts a
		// session of its own under a fresh id; no id is adopted. Without
		// this a device whose cookie still names a forward could not log in
		// until the forward expired.
		s.phase, s.isNew = unsaved, true
	}
	s.record(op{kind: opOwner, key: owner})
	s.login = &login{owner: owner, meta: maps.Clone(meta)}
	if s.pending != destroy {
		s.pending = renewID
	}
}

// Owner returns the owner the session is bound to, or "".
func (s *Session) Owner() string {
	s.lock()
	defer s.mu.Unlock()
	return s.owner
}

// errUnlisted stops an index change that needs an entry no longer there.
var errUnlisted = errors.New("sessionstore: not in the owner's index")

// updateIndex applies change to owner's index and swaps it in over the
// version loaded, loading again and re-deciding after a lost swap; change
// may run more than once and leaves the index unwritten by failing. A
// record under the index key that is not an index of this format is
// replaced, with a warning: swapped over the version actually loaded, so
// it takes one round trip. Entries past their latest expiry are pruned on
// every write.
func (m *Manager) updateIndex(ctx context.Context, owner string, change func(entries []indexEntry) ([]indexEntry, error)) error {
	// Updates of one index in this process take turns, so that concurrent
	// logins of one user do not fight each other through the database.
	key := ownerKey(owner)
	unlock := m.ownerLocks.lock(key)
	defer unlock()
	return retry(ctx, func(int) (bool, error) {
		entries, rec, err := m.loadIndex(ctx, owner)
		if err != nil {
			return false, err
		}
		had := len(entries)
		if entries, err = change(entries); err != nil {
			return false, err
		}
		now := m.clock()
		entries = slices.DeleteFunc(entries, func(e indexEntry) bool { return !time.Unix(0, e.Latest).After(now) })
		data, exp := encodeIndex(entries)
		if data == nil && had == 0 && rec.Data == nil {
			return true, nil // no index, and none needed
		}
		ok, err := m.swap(ctx, key, rec.Version, data, exp)
		if err != nil {
			return false, fmt.Errorf("sessionstore: save owner index: %w", err)
		}
		return ok, nil
	})
}

// loadIndex loads the entries of owner's index, with the record they came
// from (Data nil when there is none). A record that is not an index of this
// format gives no entries and is logged.
func (m *Manager) loadIndex(ctx context.Context, owner string) ([]indexEntry, Record, error) {
	rec, found, err := m.Store.Load(ctx, ownerKey(owner))
	if err != nil {
		return nil, rec, fmt.Errorf("sessionstore: load owner index: %w", err)
	}
	if !found {
		return nil, Record{}, nil
	}
	if rec.Data == nil {
		rec.Data = []byte{}
	}
	entries, err := decodeIndex(rec.Data)
	if err != nil {
		m.logger().WarnContext(ctx, "sessionstore: an owner's index is not of this format; replacing it", "error", err)
	}
	return entries, rec, nil
}

// entry returns a new index entry for the session of state st under key.
func (m *Manager) entry(key string, st *state, meta map[string]string) indexEntry {
	return indexEntry{
		Handle: newHandle(), Key: key, Created: st.created.UnixNano(),
		Latest: st.created.Add(m.lifetime()).UnixNano(), Meta: meta,
	}
}

// list puts e in owner's index: in place of the entry of a key in from (a
// renewal: the entry keeps its handle, and its metadata unless e has some),
// else as a new entry, unless require says the session must already be
// listed. It reports whether e is listed. A new entry over the cap
// (MaxOwnerSessions) first drops entries of sessions that ended, then ends
// the oldest session.
func (m *Manager) list(ctx context.Context, owner string, from []string, e indexEntry, require bool) (bool, error) {
	var evicted []indexEntry
	err := m.updateIndex(ctx, owner, func(entries []indexEntry) ([]indexEntry, error) {
		evicted = evicted[:0]
		if i := slices.IndexFunc(entries, func(x indexEntry) bool { return x.Key == e.Key || slices.Contains(from, x.Key) }); i >= 0 {
			entries[i].Key = e.Key
			if e.Meta != nil {
				entries[i].Meta = e.Meta
			}
			return entries, nil
		}
		if require {
			return nil, errUnlisted
		}
		if len(entries) >= m.maxOwnerSessions() {
			entries = slices.DeleteFunc(entries, func(x indexEntry) bool {
				_, ok, err := m.ownedSession(ctx, owner, x.Key)
				return err == nil && !ok
			})
		}
		for len(entries) >= m.maxOwnerSessions() {
			oldest := 0
			for i, x := range entries {
				if x.Created < entries[oldest].Created {
					oldest = i
				}
			}
			evicted = append(evicted, entries[oldest])
			entries = slices.Delete(entries, oldest, oldest+1)
		}
		return append(entries, e), nil
	})
	if errors.Is(err, errUnlisted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := m.end(ctx, owner, evicted); err != nil {
		return true, fmt.Errorf("sessionstore: revoke the oldest session of an owner at the cap: %w", err)
	}
	return true, nil
}

// unlist drops the entries of keys from owner's index.
func (m *Manager) unlist(ctx context.Context, owner string, keys []string) error {
	return m.updateIndex(ctx, owner, func(entries []indexEntry) ([]indexEntry, error) {
		return slices.DeleteFunc(entries, func(e indexEntry) bool { return slices.Contains(keys, e.Key) }), nil
	})
}

// end deletes the sessions of entries, just taken off owner's index (the
// commit point of a revoke), and returns how many of them were live.
func (m *Manager) end(ctx context.Context, owner string, entries []indexEntry) (int, error) {
	n := 0
	for _, e := range entries {
		rec, live, err := m.ownedSession(ctx, owner, e.Key)
		if err != nil {
			return n, err
		}
		// A forward: a renewal under way, which finds its entry gone and
		// deletes its new record.
		live = live || Inspect(rec).Kind == KindForward
		if err := m.Store.Delete(ctx, e.Key); err != nil {
			return n, err
		}
		if live {
			n++
			m.observe(ctx, EventRevoked)
		}
	}
	return n, nil
}

// ownedSession loads the record under key and reports whether it is a
// live session of owner.
func (m *Manager) ownedSession(ctx context.Context, owner, key string) (Record, bool, error) {
	rec, found, err := m.Store.Load(ctx, key)
	if err != nil || !found {
		return rec, false, err
	}
	info := Inspect(rec)
	return rec, info.Kind == KindSession && info.Owner == owner, nil
}

// SessionsOf lists the live sessions of owner, oldest first. When ctx is a
// request's context inside [Manager.Handler], the request's own session is
// marked Current. It costs a load of the owner's index and one of each
// session it names.
func (m *Manager) SessionsOf(ctx context.Context, owner string) ([]OwnedSession, error) {
	if owner == "" {
		return nil, fmt.Errorf("sessionstore: sessions of: %w", ErrNoOwner)
	}
	entries, _, err := m.loadIndex(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: sessions of: %w", err)
	}
	current := m.currentKey(ctx)
	var out []OwnedSession
	for _, e := range entries {
		rec, ok, err := m.ownedSession(ctx, owner, e.Key)
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
// [OwnedSession]): it is taken off the owner's list, then its record is
// deleted, so its next request starts a fresh, empty session and requests
// of it under way store nothing (see [Session.Dropped]). It fails with an
// error wrapping ErrUnknownHandle when owner has no live session with that
// handle.
func (m *Manager) RevokeSession(ctx context.Context, owner, handle string) error {
	n, err := m.revoke(ctx, owner, func(e indexEntry) bool { return e.Handle == handle })
	if err == nil && n == 0 {
		err = ErrUnknownHandle
	}
	if err != nil {
		return fmt.Errorf("sessionstore: revoke session: %w", err)
	}
	return nil
}

// RevokeAll ends every session of owner ("sign out everywhere"), or, with
// exceptCurrent, every one but the session of the request whose context is
// ctx ("sign out everywhere else"), and returns how many live sessions it
// ended. The sessions are taken off the owner's list in one swap, then
// deleted; a login or renewal of owner concurrent with it either is ended
// by it or, when it completes after, stays listed: a live session is never
// missing from the list.
func (m *Manager) RevokeAll(ctx context.Context, owner string, exceptCurrent bool) (int, error) {
	keep := ""
	if exceptCurrent {
		keep = m.currentKey(ctx)
	}
	n, err := m.revoke(ctx, owner, func(e indexEntry) bool { return e.Key != keep })
	if err != nil {
		return n, fmt.Errorf("sessionstore: revoke all: %w", err)
	}
	return n, nil
}

// revoke takes the entries that match off owner's index, then deletes
// their sessions, and returns how many were live.
func (m *Manager) revoke(ctx context.Context, owner string, match func(indexEntry) bool) (int, error) {
	if owner == "" {
		return 0, ErrNoOwner
	}
	var taken []indexEntry
	err := m.updateIndex(ctx, owner, func(entries []indexEntry) ([]indexEntry, error) {
		taken = taken[:0]
		return slices.DeleteFunc(entries, func(e indexEntry) bool {
			if match(e) {
				taken = append(taken, e)
				return true
			}
			return false
		}), nil
	})
	if err != nil {
		return 0, err
	}
	return m.end(ctx, owner, taken)
}

// Revoke ends the stored session with the given store key, as
// [Session.Key] and [Manager.Iterate] report it: the key is used as is,
// never hashed again. When the key was renewed meanwhile, the renewed
// session is ended. A session bound to an owner is also taken off the
// owner's list, first.
func (m *Manager) Revoke(ctx context.Context, key string) error {
	chain := []string{key}
	err := retry(ctx, func(int) (bool, error) {
		rec, found, err := m.Store.Load(ctx, key)
		info := Inspect(rec)
		for ; err == nil && found && info.Kind == KindForward && len(chain) <= maxForwards; info = Inspect(rec) {
			key = info.To
			chain = append(chain, key)
			rec, found, err = m.Store.Load(ctx, key)
		}
		if err != nil || !found {
			return true, err
		}
		if info.Owner != "" {
			if err := m.unlist(ctx, info.Owner, chain); err != nil {
				return false, err
			}
		}
		// Only over the version loaded: a renewal or a logout in between
		// is seen on the next try.
		ok, err := m.swap(ctx, key, rec.Version, nil, gone)
		if ok && info.Kind == KindSession {
			m.observe(ctx, EventRevoked)
		}
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("sessionstore: revoke: %w", err)
	}
	return nil
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
