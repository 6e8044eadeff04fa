package encrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storewrap"
)

// Options configure the Store New returns. The zero value is ready to use.
type Options struct {
	// Logger receives a warning, with the key id and the reason, for each
	// record that does not open (Load reads it as absent), and one warning
	// per Iterate or Reencrypt that met such records. Never the data, the
	// store key or a secret.
	//
	// Optional. Default nil: slog.Default() at the time of logging.
	Logger *slog.Logger
}

// New returns a Store that seals every record it writes to store with the
// primary key of keys and opens what it reads with the key each record
// names. It has exactly the optional capabilities of store (Toucher,
// Swapper, Iterator, Counter, io.Closer), and each call is one call of the
// same method of store: no round trip is added. (The one exception is a
// CompareAndSwap over version 0, "only if absent", that loses: it then reads
// the record in its way and swaps over it if that record does not open,
// since Load reads such a record as absent.)
//
// A record that does not open — altered, truncated, moved to another id, or
// sealed with a key no longer in the ring — reads as absent: Load reports
// not found with a nil error, Iterate skips it, and a warning is logged.
// Touch and Count, which never read the data, still see such a record.
//
// Errors of store pass through as they are, except ErrTooLarge, which says
// how large the sealed record was: the largest data the returned Store
// accepts is store's maximum minus keys.Overhead().
func New(store sessionstore.Store, keys *Keys, opts Options) (sessionstore.Store, error) {
	if store == nil {
		return nil, errors.New("encrypt: new: nil store")
	}
	if keys == nil || len(keys.ring) == 0 {
		return nil, errors.New("encrypt: new: no keys: make them with ParseKeys or NewKeys")
	}
	s := &sealer{inner: store, keys: keys, log: opts.Logger}
	s.toucher, _ = store.(sessionstore.Toucher)
	s.swapper, _ = store.(sessionstore.Swapper)
	s.iterator, _ = store.(sessionstore.Iterator)
	s.counter, _ = store.(sessionstore.Counter)
	s.closer, _ = store.(io.Closer)
	return storewrap.New(store, s), nil
}

// sealer implements every method; storewrap exposes those of the
// capabilities the wrapped store has, so the capability fields a method
// uses are never nil when it is called.
type sealer struct {
	inner    sessionstore.Store
	toucher  sessionstore.Toucher
	swapper  sessionstore.Swapper
	iterator sessionstore.Iterator
	counter  sessionstore.Counter
	closer   io.Closer
	keys     *Keys
	log      *slog.Logger

	// bufs holds the buffers Save and CompareAndSwap seal into. A store
	// does not keep the data it is given once the call returns (the Store
	// contract, which storetest checks), so a buffer is reused at once.
	bufs sync.Pool
}

// withSealed calls fn with data sealed for id in a pooled buffer.
func (s *sealer) withSealed(id string, data []byte, fn func(sealed []byte) error) error {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	sealed := s.keys.seal((*bp)[:0], id, data)
	err := fn(sealed)
	if cap(sealed) <= maxPooledBuf {
		*bp = sealed[:0]
		s.bufs.Put(bp)
	}
	return err
}

func (s *sealer) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// unopened logs a record that did not open.
func (s *sealer) unopened(ctx context.Context, op, keyID string, reason error) {
	s.logger().WarnContext(ctx, "encrypt: a stored record does not open; it reads as absent",
		"op", op, "key_id", keyID, "reason", reason.Error())
}

// Load opens the record stored under id. The record's memory is the
// caller's once the wrapped store returned it, so it is decrypted in place.
func (s *sealer) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	rec, found, err := s.inner.Load(ctx, id)
	if err != nil || !found {
		return sessionstore.Record{}, false, err
	}
	data, kid, err := s.keys.open(id, rec.Data)
	if err != nil {
		s.unopened(ctx, "load", kid, err)
		return sessionstore.Record{}, false, nil
	}
	rec.Data = data
	return rec, true, nil
}

// Save seals data and saves it. The id is left to the wrapped store to
// check, like everything else, so that its errors and their order (a
// cancelled context, an invalid id) stay its own.
func (s *sealer) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	return s.withSealed(id, data, func(sealed []byte) error {
		return tooLarge("save", data, sealed, s.inner.Save(ctx, id, sealed, expiry))
	})
}

// tooLarge adds the sizes to an error of the wrapped store that wraps
// ErrTooLarge, and returns any other error as it is.
func tooLarge(op string, data, sealed []byte, err error) error {
	if err != nil && errors.Is(err, sessionstore.ErrTooLarge) {
		return fmt.Errorf("encrypt: %s: %d bytes of data sealed to %d: %w", op, len(data), len(sealed), err)
	}
	return err
}

// Delete deletes id.
func (s *sealer) Delete(ctx context.Context, id string) error { return s.inner.Delete(ctx, id) }

// Touch moves the expiry of id; the sealed data is not read.
func (s *sealer) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	return s.toucher.Touch(ctx, id, expiry)
}

// CompareAndSwap seals data and swaps it in over version. The version is
// the wrapped store's: sealing does not change what it compares.
//
// Version 0 means "only if no live record exists", and a record that does
// not open reads as absent, so when a swap over version 0 loses, it looks
// at the record in the way: one that does not open is swapped over (as Save
// would overwrite it). That costs a Load and one more swap, only then.
func (s *sealer) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	var swapped bool
	err := s.withSealed(id, data, func(sealed []byte) (err error) {
		swapped, err = s.swapper.CompareAndSwap(ctx, id, version, sealed, expiry)
		if err != nil {
			return tooLarge("compare and swap", data, sealed, err)
		}
		if swapped || version != 0 {
			return nil
		}
		swapped, err = s.swapOverUnopened(ctx, id, sealed, expiry)
		return err
	})
	return swapped, err
}

// swapOverUnopened completes a swap over version 0 that lost: it swaps
// sealed in over the record in the way when that record does not open.
func (s *sealer) swapOverUnopened(ctx context.Context, id string, sealed []byte, expiry time.Time) (bool, error) {
	rec, found, err := s.inner.Load(ctx, id)
	if err != nil || !found {
		return false, err // gone meanwhile: the race was lost all the same
	}
	if _, _, err := s.keys.open(id, rec.Data); err == nil {
		return false, nil // a live record that opens: a true conflict
	}
	return s.swapper.CompareAndSwap(ctx, id, rec.Version, sealed, expiry)
}

// Iterate calls fn with each live record that opens, and logs one warning
// for all those that do not.
func (s *sealer) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	var bad unopenedTally
	err := s.iterator.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		// A copy: the contract does not promise that an iterated record's
		// memory is the caller's.
		data, kid, err := s.keys.openCopy(id, rec.Data)
		if err != nil {
			bad.add(kid, err)
			return true
		}
		rec.Data = data
		return fn(id, rec)
	})
	bad.log(ctx, s.logger(), "iterate")
	return err
}

// Count counts the records of the wrapped store, including any that do not
// open.
func (s *sealer) Count(ctx context.Context) (int, error) { return s.counter.Count(ctx) }

// Close closes the wrapped store.
func (s *sealer) Close() error { return s.closer.Close() }

// unopenedTally counts the records of a walk that did not open, by key id
// and reason, for one warning at the end rather than one per record.
type unopenedTally struct {
	mu    sync.Mutex
	n     int
	kinds map[[2]string]int // {key id, reason}
}

// maxTallyKinds bounds the distinct key ids and reasons a warning lists,
// against records forged to name many.
const maxTallyKinds = 16

func (t *unopenedTally) add(keyID string, reason error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	k := [2]string{keyID, reason.Error()}
	if _, ok := t.kinds[k]; ok || len(t.kinds) < maxTallyKinds {
		if t.kinds == nil {
			t.kinds = make(map[[2]string]int)
		}
		t.kinds[k]++
	}
}

func (t *unopenedTally) log(ctx context.Context, log *slog.Logger, op string) {
	if t.n == 0 {
		return
	}
	kinds := make([]string, 0, len(t.kinds))
	for k, n := range t.kinds {
		kinds = append(kinds, fmt.Sprintf("key_id=%q reason=%q records=%d", k[0], k[1], n))
	}
	slices.Sort(kinds)
	attrs := []any{"op", op, "records", t.n, "kinds", kinds}
	log.WarnContext(ctx, "encrypt: stored records do not open; they read as absent", attrs...)
}
