package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// MaxIDLength is the longest id, in bytes, that every Store must accept.
const MaxIDLength = 256

// Sentinel errors. Stores and the Manager wrap them with the name of the store
// and the operation that failed, so callers test them with [errors.Is].
var (
	// ErrTooLarge is wrapped by Save and CompareAndSwap when the data is larger
	// than the store's documented maximum. The value stored before stays intact.
	ErrTooLarge = errors.New("sessionstore: data too large")

	// ErrInvalidID is wrapped by every Store method given an empty id or one
	// longer than MaxIDLength bytes. Nothing is read or written.
	ErrInvalidID = errors.New("sessionstore: invalid session id")

	// ErrFull is wrapped by Save and CompareAndSwap when a store with a cap
	// on live sessions is at that cap and id is not already stored. Records
	// already stored can still be overwritten, touched and deleted.
	ErrFull = errors.New("sessionstore: store full")

	// ErrClosed is wrapped by calls made on a Store after Close, when the
	// store cannot serve them any more (a store whose Close only stops
	// background work keeps serving and never returns it).
	ErrClosed = errors.New("sessionstore: store closed")
)

// Record is what a Store holds under one id.
type Record struct {
	// Data is opaque: any byte value, including empty, round-trips.
	Data []byte

	// Expiry is the absolute time at which the record is gone. Load reports
	// the expiry of the last Save, CompareAndSwap or Touch, within the
	// precision the store documents; a store that cannot read back an expiry
	// moved by Touch (memcached) reports the last saved one and documents it.
	// An expiry at or after MaxExpiry is reported as the latest the store
	// can hold, never earlier than MaxExpiry truncated to the store's
	// documented precision.
	Expiry time.Time

	// Version identifies this exact write of the record. It is non-zero on
	// every record loaded from a store that implements Swapper, changes with
	// every Save and successful CompareAndSwap, and is zero otherwise. A
	// store never gives an id a version it gave that id before, even after
	// the record was deleted or expired and created again, and a version read
	// from one id does not match the record of another. This holds across
	// every Store value opened on the same data (another process's client)
	// and across restarts, not only within one Store value.
	Version uint64
}

// MaxExpiry is the latest expiry every Store keeps exactly as far as callers
// can tell: the end of the range of time.Time.UnixNano, in April 2262. An
// expiry at or after it, past the year 9999 included, keeps the record
// live; Load reports it as any time from MaxExpiry truncated to the store's
// documented precision on (a store keeping milliseconds may report
// 2262-04-11 23:47:16.854 UTC).
var MaxExpiry = time.Unix(0, math.MaxInt64).UTC()

// Store keeps session records. Implementations must keep every sentence below;
// storetest.Run turns each into a test.
//
// Ids are opaque strings of 1 to MaxIDLength bytes, any bytes: no id can inject
// into a query or break a key format, and two different ids never share a
// record, whatever a naive escaping, truncation or normalisation would make of
// them. The length is counted in bytes, not characters. Two stores configured
// apart (a different prefix, table or collection) on one server never see each
// other's records: names that differ only in case, in a separator or past a
// length the database cuts names at are apart. A store forming keys as
// prefix+id documents that it needs prefixes of which neither is a prefix of
// the other. Every method is safe for concurrent use, expired records
// included. A cancelled or expired context makes any call return promptly
// with an error that wraps ctx.Err(), whether or not the id is stored. When
// the database is unreachable, calls fail with a descriptive error, bounded by
// the context; never a panic, never a false "found".
//
// Expiries are absolute. The zero time.Time is a time long past like any
// other: it never means "no expiry". An expiry after MaxExpiry keeps the
// record live. A record is never gone before its expiry, and never returned
// after it, within the store's documented precision.
type Store interface {
	// Load returns the record stored under id. A missing, deleted or expired
	// id reports found == false with a nil error. Load never returns a record
	// past its expiry, even when the database's own expiry (a TTL monitor, a
	// cleanup job) has not run yet. The returned Data is the caller's, of any
	// size: the store does not keep or reuse it, and a Save running at the
	// same time never tears it.
	Load(ctx context.Context, id string) (rec Record, found bool, err error)

	// Save inserts or overwrites the data and expiry of id in one step.
	// An expiry at or before now leaves id gone afterwards. The store does not
	// keep data, of any size: the caller may reuse the slice once Save
	// returns. Data larger
	// than the store's documented maximum (at least 512 KiB) fails with an
	// error wrapping ErrTooLarge and the previous record stays intact.
	Save(ctx context.Context, id string, data []byte, expiry time.Time) error

	// Delete removes id. Deleting a missing id is not an error.
	Delete(ctx context.Context, id string) error
}

// Toucher is implemented by stores that can move an expiry without resending
// the data (Redis PEXPIREAT, memcached touch, one UPDATE). The Manager uses it
// to refresh idle sessions cheaply.
type Toucher interface {
	// Touch sets the expiry of a live record to expiry and reports whether it
	// existed. A missing or expired id reports false with a nil error and
	// creates nothing. A live record reports true even when its expiry is
	// already the one given, or when an expiry at or before now leaves id
	// gone afterwards. Touch may or may not change the record's Version.
	Touch(ctx context.Context, id string, expiry time.Time) (found bool, err error)
}

// Swapper is implemented by versioned stores: their Load fills
// Record.Version, and CompareAndSwap writes only over the version the caller
// read. This is what lets the Manager merge concurrent requests of one
// session instead of losing updates.
type Swapper interface {
	// CompareAndSwap saves data and expiry under id only if the live record
	// still has the given version; version 0 means "only if no live record
	// exists". Any other version writes nothing: an older or newer one, the
	// version of an expired or deleted record of id, or one read from another
	// id. It reports whether it wrote. Losing the race is not an error: it
	// reports false with a nil error. When many callers race with one version,
	// exactly one wins. It is atomic on the server and checks size like Save,
	// before anything is sent: data over the maximum fails with ErrTooLarge
	// and writes nothing, whether or not the swap would have won. An expiry at
	// or before now leaves id gone afterwards when the swap wins: a
	// conditional delete, which the Manager uses to remove a session only if
	// no other request changed it; a conditional delete that loses leaves the
	// record as it was. A conditional delete with version 0 of an id with no
	// live record wins and reports true: the condition held, and id is gone
	// afterwards as asked.
	CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error)
}

// Iterator is implemented by stores that can walk their live records, for
// administration (listing or revoking sessions). Ids are the store's own keys,
// exactly as given to the Save or CompareAndSwap that wrote the record (and
// kept by Touch).
type Iterator interface {
	// Iterate calls fn once for each live record, in no particular order,
	// until fn returns false or every record was visited. Each record comes
	// whole, as Load would return it: its data (empty data included), expiry
	// and version. Records saved, deleted or expiring during the walk may or
	// may not be visited; no expired record is. It returns the first error
	// met, wrapping ctx.Err() when the context ends, even on an empty store.
	Iterate(ctx context.Context, fn func(id string, rec Record) bool) error
}

// Counter is implemented by stores that can count live records more cheaply
// than by iterating them. Use [Count], which falls back to Iterate.
type Counter interface {
	// Count returns the number of live records, those with empty data
	// included: the number of records Iterate would visit. A cancelled
	// context fails it, even on an empty store.
	Count(ctx context.Context) (int, error)
}

// Count returns the number of live records in s, through Counter when s has
// it, else by iterating. It fails with errors.ErrUnsupported when s can do
// neither.
func Count(ctx context.Context, s Store) (int, error) {
	if c, ok := s.(Counter); ok {
		return c.Count(ctx)
	}
	it, ok := s.(Iterator)
	if !ok {
		return 0, fmt.Errorf("sessionstore: count: %T cannot iterate: %w", s, errors.ErrUnsupported)
	}
	n := 0
	err := it.Iterate(ctx, func(string, Record) bool { n++; return true })
	return n, err
}

// CheckID reports whether id is one every Store must accept, as an error that
// wraps ErrInvalidID naming the problem. Backends call it first in each method.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidID, len(id), MaxIDLength)
	}
	return nil
}

// ContextErr returns ctx.Err(), or context.DeadlineExceeded once ctx's
// deadline has passed even if ctx.Err() does not say so yet. A driver that
// cuts a call at the deadline itself (a socket deadline, an I/O timeout)
// returns a moment before the context's own timer fires; backends wrap
// ContextErr, not ctx.Err(), into the error of a call that failed, so that
// the error wraps the context's whenever the context had ended.
func ContextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// CheckData reports whether a Save or CompareAndSwap of data under id may go
// ahead on a store whose documented maximum is maxSize bytes: id passes
// CheckID, and data is at most maxSize bytes, else an error wrapping
// ErrTooLarge. Backends call it before anything is sent, so an oversized
// value never reaches the database.
func CheckData(id string, data []byte, maxSize int) error {
	if err := CheckID(id); err != nil {
		return err
	}
	if len(data) > maxSize {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(data), maxSize)
	}
	return nil
}

// SessionInterface is the request-facing half of the library, modelled on
// Flask's SessionInterface: Open turns a request into a session, Save writes a
// session to the store and its cookie to the response. The Manager implements
// it over any Store; write your own middleware over it when a router has its
// own conventions.
type SessionInterface interface {
	// Open returns the session of r: the stored one its cookie names, or a
	// new, empty one. It never writes to the store or the response.
	Open(r *http.Request) (*Session, error)

	// Save stores s if it changed (or refreshes its expiry, or deletes it
	// when it became empty) and sets, renews or expires its cookie on w. It
	// must be called before the response header is written.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error
}
