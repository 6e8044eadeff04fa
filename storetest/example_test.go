package storetest_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sessionstore/sessionstore"
)

// MapStore is a store a user wrote: a map under a mutex, with every optional
// capability (Toucher, Swapper, Iterator, Counter, io.Closer). It is the
// store of the README's "Writing your own store", and TestMapStore proves it
// against every rule of the suite.
type MapStore struct {
	mu      sync.Mutex
	records map[string]sessionstore.Record // nil once closed
	version uint64                         // the last version handed out, to any id
}

// MapStoreMaxDataSize is MapStore's documented maximum data size.
const MapStoreMaxDataSize = 1 << 20

// NewMapStore returns an empty MapStore.
func NewMapStore() *MapStore {
	return &MapStore{records: make(map[string]sessionstore.Record)}
}

// begin is what every method does first, before it touches anything: an
// ended context fails the call (ContextErr also reports a deadline that has
// passed a moment before ctx.Err() says so), and so does a bad id.
func begin(ctx context.Context, op, id string) error {
	if err := sessionstore.ContextErr(ctx); err != nil {
		return fmt.Errorf("mapstore: %s: %w", op, err)
	}
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("mapstore: %s: %w", op, err)
	}
	return nil
}

// live reports whether a record expiring at expiry is live now: an expiry at
// or before now is gone, and the zero time is long past.
func live(expiry time.Time) bool { return time.Now().Before(expiry) }

// Load returns a copy of the live record of id. A missing or expired id is
// not found, with a nil error.
func (s *MapStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := begin(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return sessionstore.Record{}, false, fmt.Errorf("mapstore: load: %w", sessionstore.ErrClosed)
	}
	rec, ok := s.records[id]
	if !ok || !live(rec.Expiry) {
		return sessionstore.Record{}, false, nil
	}
	rec.Data = bytes.Clone(rec.Data) // the caller's to keep
	return rec, true, nil
}

// Save keeps a copy of data until expiry, under a new version.
func (s *MapStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := begin(ctx, "save", id); err != nil {
		return err
	}
	if err := sessionstore.CheckData(id, data, MapStoreMaxDataSize); err != nil {
		return fmt.Errorf("mapstore: save: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return fmt.Errorf("mapstore: save: %w", sessionstore.ErrClosed)
	}
	s.write(id, data, expiry)
	return nil
}

// write stores a copy of data under a version never handed out before, or
// removes id when expiry is not in the future. s.mu is held.
func (s *MapStore) write(id string, data []byte, expiry time.Time) {
	if !live(expiry) {
		delete(s.records, id)
		return
	}
	s.version++
	s.records[id] = sessionstore.Record{Data: bytes.Clone(data), Expiry: expiry, Version: s.version}
}

// Delete removes id; deleting a missing id is not an error.
func (s *MapStore) Delete(ctx context.Context, id string) error {
	if err := begin(ctx, "delete", id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return fmt.Errorf("mapstore: delete: %w", sessionstore.ErrClosed)
	}
	delete(s.records, id)
	return nil
}

// Touch moves the expiry of a live record and reports whether there was one.
// A Touch into the past ends a live record and still reports true.
func (s *MapStore) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := begin(ctx, "touch", id); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return false, fmt.Errorf("mapstore: touch: %w", sessionstore.ErrClosed)
	}
	rec, ok := s.records[id]
	if !ok || !live(rec.Expiry) {
		return false, nil // creates nothing
	}
	if !live(expiry) {
		delete(s.records, id)
		return true, nil
	}
	rec.Expiry = expiry
	s.records[id] = rec
	return true, nil
}

// CompareAndSwap writes only over the live record of the version given, or
// where no live record is when version is 0, in one hold of the lock: a
// check and a write in two steps would let two racers both win.
func (s *MapStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := begin(ctx, "compare and swap", id); err != nil {
		return false, err
	}
	// Size first, so an oversized swap fails whether or not it would win.
	if err := sessionstore.CheckData(id, data, MapStoreMaxDataSize); err != nil {
		return false, fmt.Errorf("mapstore: compare and swap: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return false, fmt.Errorf("mapstore: compare and swap: %w", sessionstore.ErrClosed)
	}
	cur, ok := s.records[id]
	var current uint64 // 0: no live record
	if ok && live(cur.Expiry) {
		current = cur.Version
	}
	if version != current {
		return false, nil // losing the race is not an error
	}
	s.write(id, data, expiry) // an expiry in the past: a conditional delete
	return true, nil
}

// Iterate calls fn with a copy of each live record. It copies the records
// first and calls fn without the lock held, since fn may call the store (to
// delete what it visits).
func (s *MapStore) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := sessionstore.ContextErr(ctx); err != nil {
		return fmt.Errorf("mapstore: iterate: %w", err)
	}
	s.mu.Lock()
	if s.records == nil {
		s.mu.Unlock()
		return fmt.Errorf("mapstore: iterate: %w", sessionstore.ErrClosed)
	}
	ids := make([]string, 0, len(s.records))
	recs := make([]sessionstore.Record, 0, len(s.records))
	for id, rec := range s.records {
		if live(rec.Expiry) {
			rec.Data = bytes.Clone(rec.Data)
			ids, recs = append(ids, id), append(recs, rec)
		}
	}
	s.mu.Unlock()
	for i, rec := range recs {
		if !live(rec.Expiry) {
			continue // expired during the walk
		}
		if !fn(ids[i], rec) {
			return nil
		}
		// fn may have cancelled the context, or the deadline passed.
		if err := sessionstore.ContextErr(ctx); err != nil {
			return fmt.Errorf("mapstore: iterate: %w", err)
		}
	}
	return nil
}

// Count returns the number of live records, empty ones included.
func (s *MapStore) Count(ctx context.Context) (int, error) {
	if err := sessionstore.ContextErr(ctx); err != nil {
		return 0, fmt.Errorf("mapstore: count: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		return 0, fmt.Errorf("mapstore: count: %w", sessionstore.ErrClosed)
	}
	n := 0
	for _, rec := range s.records {
		if live(rec.Expiry) {
			n++
		}
	}
	return n, nil
}

// Close drops the records: every later call fails with ErrClosed, and a
// second Close does nothing. A store with background work (a cleanup
// goroutine) stops it here and waits for it.
func (s *MapStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
	return nil
}

// This example is a store written by a user. The test proving it, in a
// _test.go file of the store's package (here: mapstore_test.go), calls
// storetest.Run with a Harness describing the store:
//
//	func TestMapStore(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			NewStore:    func(t testing.TB) sessionstore.Store { return NewMapStore() },
//			MaxDataSize: MapStoreMaxDataSize,
//		})
//	}
//
// go test -race -v -run TestMapStore then lists every rule of the contract
// as a passing subtest, grouped by method and capability.
func Example() {
	s := NewMapStore()
	defer s.Close()
	ctx := context.Background()
	if err := s.Save(ctx, "session id", []byte("user=42"), time.Now().Add(time.Hour)); err != nil {
		fmt.Println(err)
	}
	rec, found, err := s.Load(ctx, "session id")
	fmt.Printf("%s %v %v\n", rec.Data, found, err)

	// A cancelled context fails every call, whether or not the id is stored.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.Load(cancelled, "missing id")
	fmt.Println(err)
	// Output:
	// user=42 true <nil>
	// mapstore: load: context canceled
}
