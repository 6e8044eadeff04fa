package storetest_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/storetest"
)

// MapStore is a store a user wrote: a map under a mutex. It keeps the
// contract of sessionstore.Store and offers no optional capability.
type MapStore struct {
	mu      sync.Mutex
	records map[string]sessionstore.Record
}

// MapStoreMaxDataSize is MapStore's documented maximum data size.
const MapStoreMaxDataSize = 1 << 20

// NewMapStore returns an empty MapStore.
func NewMapStore() *MapStore {
	return &MapStore{records: make(map[string]sessionstore.Record)}
}

// check does what every method does first: an ended context or a bad id
// fails the call before it touches anything.
func check(ctx context.Context, op, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mapstore: %s: %w", op, err)
	}
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("mapstore: %s: %w", op, err)
	}
	return nil
}

// Load returns a copy of the live record of id.
func (s *MapStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := check(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok || !time.Now().Before(rec.Expiry) {
		return sessionstore.Record{}, false, nil
	}
	rec.Data = bytes.Clone(rec.Data)
	return rec, true, nil
}

// Save keeps a copy of data until expiry.
func (s *MapStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := check(ctx, "save", id); err != nil {
		return err
	}
	if len(data) > MapStoreMaxDataSize {
		return fmt.Errorf("mapstore: save: %d bytes: %w", len(data), sessionstore.ErrTooLarge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !time.Now().Before(expiry) {
		delete(s.records, id)
		return nil
	}
	s.records[id] = sessionstore.Record{Data: bytes.Clone(data), Expiry: expiry}
	return nil
}

// Delete removes id.
func (s *MapStore) Delete(ctx context.Context, id string) error {
	if err := check(ctx, "delete", id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, id)
	return nil
}

// mapStoreHarness describes MapStore to the suite. Each NewMapStore has a
// map of its own, so every store is isolated from the others.
var mapStoreHarness = storetest.Harness{
	NewStore:    func(t testing.TB) sessionstore.Store { return NewMapStore() },
	MaxDataSize: MapStoreMaxDataSize,
	// ExpiryPrecision 0: Load compares every expiry with the clock.
}

// This example is a store written by a user and the harness that describes
// it to the suite. The test proving it is one line, in a _test.go file of
// the store's package (here: mapstore_test.go):
//
//	func TestMapStore(t *testing.T) {
//		storetest.Run(t, mapStoreHarness)
//	}
//
// go test -race -v -run TestMapStore then lists every rule of the contract
// as a passing subtest, and the optional capabilities MapStore does not
// implement as skipped.
func Example() {
	s := NewMapStore()
	ctx := context.Background()
	if err := s.Save(ctx, "session id", []byte("user=42"), time.Now().Add(time.Hour)); err != nil {
		fmt.Println(err)
	}
	rec, found, err := s.Load(ctx, "session id")
	fmt.Printf("%s %v %v\n", rec.Data, found, err)
	// Output: user=42 true <nil>
}
