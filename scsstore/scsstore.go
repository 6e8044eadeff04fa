// Package scsstore makes any sessionstore.Store usable as a store of
// github.com/alexedwards/scs/v2, so an application that already uses scs's
// SessionManager can keep it and move its sessions to any backend of this
// library (or to a store of its own that passes the storetest suite).
//
// The store returned by New implements scs.Store and scs.CtxStore, and also
// scs.IterableStore and scs.IterableCtxStore when the wrapped Store implements
// sessionstore.Iterator, so SessionManager.Iterate works wherever the backend
// can walk its sessions.
//
// scs keeps its own token in the cookie and passes it to the store as the
// key; this adapter stores it as given. scs encodes its deadline inside the
// data and also passes it as the expiry, which the backend enforces.
//
// One difference from scs's own stores: Commit of an empty token fails with
// an error wrapping sessionstore.ErrInvalidID, where scs's memstore stores
// it. scs never issues an empty token (its tokens are 32
// random bytes), so only a bug in the caller meets this; refusing it keeps
// such a bug from parking every broken caller's data under one shared key.
// Find of an empty token reports not found and Delete of it does nothing,
// as in scs.
package scsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/sessionstore/sessionstore"
)

// Store adapts a sessionstore.Store to scs.CtxStore.
type Store struct {
	store sessionstore.Store
}

// IterableStore adapts a sessionstore.Store that implements
// sessionstore.Iterator to scs.IterableCtxStore as well as scs.CtxStore.
type IterableStore struct {
	Store
	iter sessionstore.Iterator
}

var (
	_ scs.CtxStore         = (*Store)(nil)
	_ scs.CtxStore         = (*IterableStore)(nil)
	_ scs.IterableCtxStore = (*IterableStore)(nil)
	_ scs.IterableStore    = (*IterableStore)(nil)
)

// New returns an scs store backed by s: an *IterableStore when s implements
// sessionstore.Iterator, otherwise a *Store. Assign it to
// scs.SessionManager.Store.
func New(s sessionstore.Store) scs.CtxStore {
	base := Store{store: s}
	if it, ok := s.(sessionstore.Iterator); ok {
		return &IterableStore{Store: base, iter: it}
	}
	return &base
}

// FindCtx returns the data stored for token. A missing, expired or malformed
// token reports found == false with a nil error, as scs expects.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if sessionstore.CheckID(token) != nil {
		return nil, false, nil
	}
	rec, found, err := s.store.Load(ctx, token)
	if err != nil {
		return nil, false, fmt.Errorf("scsstore: find: %w", err)
	}
	return rec.Data, found, nil
}

// CommitCtx stores b under token until expiry, overwriting what was there.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := s.store.Save(ctx, token, b, expiry); err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	return nil
}

// DeleteCtx removes token. Deleting a missing or malformed token is a no-op.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	err := s.store.Delete(ctx, token)
	if errors.Is(err, sessionstore.ErrInvalidID) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	return nil
}

// Find is FindCtx with a background context, for scs.Store.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx with a background context, for scs.Store.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx with a background context, for scs.Store.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// AllCtx returns the data of every live session by token. It returns an
// empty, non-nil map when there is none, as scs expects.
func (s *IterableStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	all := make(map[string][]byte)
	err := s.iter.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		all[id] = rec.Data
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	return all, nil
}

// All is AllCtx with a background context, for scs.IterableStore.
func (s *IterableStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
