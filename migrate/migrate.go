// Package migrate moves a running application's sessions from one Store to
// another without logging anyone out.
//
// The move has three steps:
//
//  1. Deploy the application over migrate.New(old, new). Reads try the new
//     store and fall back to the old one; writes go to the new store;
//     deletes go to both. Every session written from now on lives in the
//     new store, and a logout or revocation ends the session in both.
//
//  2. Copy the sessions that are still only in the old store:
//
//     sessionstore copy OLD-URL NEW-URL
//
//     copy writes a record only where the new store has none, so it never
//     undoes a newer write, and it deletes its copy again when the record
//     left the old store meanwhile; running it twice is safe.
//
//  3. Deploy the application over the new store alone. The old store can go.
//
// Every instance must run the wrapper before the copy starts: an instance
// still on the old store alone would write where the others no longer read.
//
// The Store New returns has exactly the optional capabilities of the new
// store. A read of a session not yet moved costs a second round trip (one
// to each store), a conditional write of such a session three or four, and
// a delete two; sessions already in the new store cost what the new store
// alone costs. Iterate and Count walk both stores, listing each key once;
// they fail with an error wrapping errors.ErrUnsupported when the old store
// cannot iterate (memcached).
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storewrap"
)

// New returns a Store that moves sessions from old to new as described in
// the package documentation. Close closes both stores.
func New(old, new sessionstore.Store) sessionstore.Store {
	m := &migrator{old: old, new: new}
	m.newT, _ = new.(sessionstore.Toucher)
	m.newS, _ = new.(sessionstore.Swapper)
	m.newI, _ = new.(sessionstore.Iterator)
	m.oldI, _ = old.(sessionstore.Iterator)
	return storewrap.New(new, m)
}

// migrator implements every method; storewrap exposes those of the new
// store's capabilities.
type migrator struct {
	old, new   sessionstore.Store
	newT       sessionstore.Toucher
	newS       sessionstore.Swapper
	newI, oldI sessionstore.Iterator
}

// Load reads the new store, then the old one. A record from the old store
// keeps the old store's Version, which CompareAndSwap recognises.
func (m *migrator) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	rec, found, err := m.new.Load(ctx, id)
	if err != nil || found {
		return rec, found, wrap("load", err)
	}
	rec, found, err = m.old.Load(ctx, id)
	return rec, found, wrap("load from the old store", err)
}

// Save writes to the new store. An expiry in the past removes the record,
// so it is deleted from the old store too, lest a read find it there.
func (m *migrator) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := m.new.Save(ctx, id, data, expiry); err != nil {
		return wrap("save", err)
	}
	if !expiry.After(time.Now()) {
		return wrap("save: delete from the old store", m.old.Delete(ctx, id))
	}
	return nil
}

// Delete deletes from the old store, then the new one. In that order a
// copy racing with it never leaves the record behind: copy writes the new
// store, then checks that the old one still has the record.
func (m *migrator) Delete(ctx context.Context, id string) error {
	if err := m.old.Delete(ctx, id); err != nil {
		return wrap("delete from the old store", err)
	}
	return wrap("delete", m.new.Delete(ctx, id))
}

// Touch moves the expiry in the new store; a record only in the old store
// is written to the new one with the new expiry.
func (m *migrator) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	found, err := m.newT.Touch(ctx, id, expiry)
	if err != nil || found {
		return found, wrap("touch", err)
	}
	rec, found, err := m.old.Load(ctx, id)
	if err != nil || !found {
		return false, wrap("touch: load from the old store", err)
	}
	if !expiry.After(time.Now()) {
		return true, wrap("touch: delete from the old store", m.old.Delete(ctx, id))
	}
	if m.newS != nil {
		// Only if nothing reached the new store meanwhile: that is newer.
		if _, err := m.newS.CompareAndSwap(ctx, id, 0, rec.Data, expiry); err != nil {
			return false, wrap("touch: move to the new store", err)
		}
		return true, nil
	}
	return true, wrap("touch: move to the new store", m.new.Save(ctx, id, rec.Data, expiry))
}

// CompareAndSwap swaps in the new store when the record is there. When it
// is only in the old store, version is the old store's (Load returned it):
// the swap then writes to the new store if the old record still has that
// version and the new store still has no record.
func (m *migrator) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	swapped, err := m.newS.CompareAndSwap(ctx, id, version, data, expiry)
	if err != nil || swapped {
		if swapped && !expiry.After(time.Now()) {
			err = m.old.Delete(ctx, id)
		}
		return swapped, wrap("compare-and-swap", err)
	}
	if _, found, err := m.new.Load(ctx, id); err != nil || found {
		return false, wrap("compare-and-swap", err) // the new store's record is newer
	}
	rec, found, err := m.old.Load(ctx, id)
	if err != nil {
		return false, wrap("compare-and-swap: load from the old store", err)
	}
	switch {
	case !found && version != 0:
		return false, nil // it ended
	case found && rec.Version != version:
		// Changed since it was read (or, for version 0 over a versioned
		// old store, it exists). A store without versions loads 0: its
		// records match version 0.
		return false, nil
	}
	swapped, err = m.newS.CompareAndSwap(ctx, id, 0, data, expiry)
	if err != nil || !swapped {
		return false, wrap("compare-and-swap", err)
	}
	if found && !expiry.After(time.Now()) {
		if err := m.old.Delete(ctx, id); err != nil {
			return true, wrap("compare-and-swap: delete from the old store", err)
		}
	}
	return true, nil
}

// Iterate walks the new store, then the old one, skipping the keys the new
// store holds.
func (m *migrator) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if m.oldI == nil {
		return fmt.Errorf("migrate: iterate: the old store %T cannot iterate: %w", m.old, errors.ErrUnsupported)
	}
	seen := make(map[string]struct{})
	stopped := false
	err := m.newI.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		seen[id] = struct{}{}
		stopped = !fn(id, rec)
		return !stopped
	})
	if err != nil || stopped {
		return wrap("iterate", err)
	}
	return wrap("iterate the old store", m.oldI.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		if _, dup := seen[id]; dup {
			return true
		}
		return fn(id, rec)
	}))
}

// Count counts the keys Iterate visits.
func (m *migrator) Count(ctx context.Context) (int, error) {
	n := 0
	err := m.Iterate(ctx, func(string, sessionstore.Record) bool { n++; return true })
	return n, err
}

// Close closes both stores.
func (m *migrator) Close() error {
	var errs []error
	for _, s := range []sessionstore.Store{m.new, m.old} {
		if c, ok := s.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return wrap("close", errors.Join(errs...))
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("migrate: %s: %w", op, err)
}
