// Package fiberstore brings sessionstore to Fiber in two ways.
//
// [Middleware] runs the session lifecycle of a sessionstore.Manager in a
// Fiber v3 app, with every rule of the Manager: no cookie and no stored
// record for a visitor who only reads, an HttpOnly, SameSite=Lax cookie,
// Session.LogIn and Manager.SessionsOf, the Manager's codec, concurrent
// requests of one session merged. A handler finds the session with
// [Session]. This is the way for an application free to choose.
//
// [New] makes any sessionstore.Store a Fiber Storage, so Fiber's own
// session, CSRF, limiter and cache middlewares keep their data in any
// backend of this library (or a store of your own that passes the storetest
// suite). Fiber's session middleware keeps its own rules: it stores a
// session and sets a cookie for every visitor, reader or not, encodes the
// values itself, and its cookie is not HttpOnly unless
// session.Config.CookieHTTPOnly is set (set it, and CookieSecure on an HTTPS
// site).
//
// A *Storage has both method sets: Fiber v2's fiber.Storage (Get, Set,
// Delete, Reset, Close) and Fiber v3's, which adds GetWithContext,
// SetWithContext, DeleteWithContext and ResetWithContext, so one Storage
// serves both versions. The package imports Fiber v3 for Middleware. It is
// a module of its own so that only applications that use Fiber get Fiber in
// their module graph.
//
// Fiber's semantics hold: Get of a missing or expired key returns nil and no
// error; Set with an expiration of 0 means no expiration, which this Storage
// maps to a long lifetime (Options.NoExpiry, default ten years), since every
// sessionstore record has an expiry; a negative expiration leaves the key gone.
// Delete of a missing key is not an error. Reset deletes every record of the
// wrapped Store, walking it with sessionstore.Iterator, and fails with an
// error wrapping errors.ErrUnsupported on a Store that cannot iterate
// (memcache). Close closes the wrapped Store when it is an io.Closer.
//
// Keys are stored as the base64url SHA-256 hash of the Fiber key (see
// StoreKey): a leaked database yields no usable session id or CSRF token, and
// keys of any length work (Fiber's cache middleware puts the request path in
// its keys). Unlike some of Fiber's own storages, which ignore an empty key
// silently, this Storage rejects it with an error wrapping
// sessionstore.ErrInvalidID, so a bug never turns into lost data. An empty
// value is stored as is, and Get returns it as a non-nil empty slice.
//
// Give each middleware its own Store (its own prefix, table or collection):
// Reset deletes everything in the Store it wraps.
package fiberstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sessionstore/sessionstore"
)

// DefaultNoExpiry is the lifetime given to a record that Fiber sets with an
// expiration of 0 ("no expiration"), when Options.NoExpiry is not set.
const DefaultNoExpiry = 10 * 365 * 24 * time.Hour

// deleteBatch is how many ids Reset collects before deleting them, so that a
// large store never holds all its ids in memory at once and no backend is
// asked to delete records while its own walk is still open.
const deleteBatch = 1000

// Options configure a Storage. The zero value is ready to use.
type Options struct {
	// NoExpiry is the lifetime of a record set with an expiration of 0.
	// Optional. Default is DefaultNoExpiry (ten years).
	NoExpiry time.Duration

	// Timeout bounds each call made through the methods that take no context
	// (Get, Set, Delete, Reset: Fiber v2's, and v3's when a middleware calls
	// them). Optional. Default is 0: no bound beyond the driver's own.
	Timeout time.Duration
}

// Storage is a Fiber Storage (v2 and v3) over a sessionstore.Store.
type Storage struct {
	store sessionstore.Store
	opts  Options
}

// New returns a Fiber Storage that keeps its data in s.
func New(s sessionstore.Store, opts Options) *Storage {
	if opts.NoExpiry <= 0 {
		opts.NoExpiry = DefaultNoExpiry
	}
	return &Storage{store: s, opts: opts}
}

// StoreKey returns the id under which a Storage keeps the Fiber key in the
// wrapped Store: the unpadded base64url encoding of its SHA-256 hash. Use it to
// find or delete a Fiber session through the Store itself.
func StoreKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// GetWithContext returns the value stored for key, or nil and no error when
// key is missing or expired.
func (s *Storage) GetWithContext(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey("get", key); err != nil {
		return nil, err
	}
	rec, found, err := s.store.Load(ctx, StoreKey(key))
	if err != nil {
		return nil, fmt.Errorf("fiberstore: get: %w", err)
	}
	if !found {
		return nil, nil
	}
	if rec.Data == nil {
		// nil means "missing" to Fiber: a stored empty value must not read so.
		return []byte{}, nil
	}
	return rec.Data, nil
}

// SetWithContext stores val for key until exp from now. An exp of 0 means no
// expiration (Options.NoExpiry); a negative exp leaves key gone.
func (s *Storage) SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error {
	if err := checkKey("set", key); err != nil {
		return err
	}
	if exp == 0 {
		exp = s.opts.NoExpiry
	}
	if err := s.store.Save(ctx, StoreKey(key), val, time.Now().Add(exp)); err != nil {
		return fmt.Errorf("fiberstore: set: %w", err)
	}
	return nil
}

// DeleteWithContext removes key. Deleting a missing key is not an error.
func (s *Storage) DeleteWithContext(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, StoreKey(key)); err != nil {
		return fmt.Errorf("fiberstore: delete: %w", err)
	}
	return nil
}

// ResetWithContext deletes every record of the wrapped Store, which must
// implement sessionstore.Iterator; otherwise it fails with an error wrapping
// errors.ErrUnsupported and deletes nothing. Records saved while it runs may
// survive it.
func (s *Storage) ResetWithContext(ctx context.Context) error {
	it, ok := s.store.(sessionstore.Iterator)
	if !ok {
		return fmt.Errorf("fiberstore: reset: %T cannot iterate: %w", s.store, errors.ErrUnsupported)
	}
	for {
		ids := make([]string, 0, deleteBatch)
		err := it.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
			ids = append(ids, id)
			return len(ids) < deleteBatch
		})
		if err != nil {
			return fmt.Errorf("fiberstore: reset: %w", err)
		}
		for _, id := range ids {
			if err := s.store.Delete(ctx, id); err != nil {
				return fmt.Errorf("fiberstore: reset: %w", err)
			}
		}
		if len(ids) < deleteBatch {
			return nil
		}
	}
}

// Get is GetWithContext with a background context bounded by
// Options.Timeout.
func (s *Storage) Get(key string) ([]byte, error) {
	ctx, cancel := s.background()
	defer cancel()
	return s.GetWithContext(ctx, key)
}

// Set is SetWithContext with a background context bounded by
// Options.Timeout.
func (s *Storage) Set(key string, val []byte, exp time.Duration) error {
	ctx, cancel := s.background()
	defer cancel()
	return s.SetWithContext(ctx, key, val, exp)
}

// Delete is DeleteWithContext with a background context bounded by
// Options.Timeout.
func (s *Storage) Delete(key string) error {
	ctx, cancel := s.background()
	defer cancel()
	return s.DeleteWithContext(ctx, key)
}

// Reset is ResetWithContext with a background context bounded by
// Options.Timeout.
func (s *Storage) Reset() error {
	ctx, cancel := s.background()
	defer cancel()
	return s.ResetWithContext(ctx)
}

// Close closes the wrapped Store when it implements io.Closer, and does
// nothing otherwise: like Fiber's own storages, which close their
// connections, a Storage owns what it wraps.
func (s *Storage) Close() error {
	c, ok := s.store.(io.Closer)
	if !ok {
		return nil
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("fiberstore: close: %w", err)
	}
	return nil
}

func (s *Storage) background() (context.Context, context.CancelFunc) {
	if s.opts.Timeout > 0 {
		return context.WithTimeout(context.Background(), s.opts.Timeout)
	}
	return context.WithCancel(context.Background())
}

// checkKey rejects the empty key, which Fiber's middlewares never use: the
// hash would hide the mistake behind a valid id.
func checkKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("fiberstore: %s: %w: empty key", op, sessionstore.ErrInvalidID)
	}
	return nil
}
