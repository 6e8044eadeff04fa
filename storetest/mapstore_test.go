package storetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/storetest"
)

// TestMapStore is the test the README and the Example show: it proves the
// user's MapStore of example_test.go against every rule of the suite.
func TestMapStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		// A new, empty store for each subtest, apart from every other.
		NewStore:    func(t testing.TB) sessionstore.Store { return NewMapStore() },
		MaxDataSize: MapStoreMaxDataSize,

		// A store over a database returns one pointed at a closed port: every
		// call must then fail promptly, never panic, never report "found".
		// A map has no database to lose; a closed store is the nearest thing.
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			s := NewMapStore()
			s.Close()
			return s
		},

		// A store over a database makes its prefix, table or collection
		// from name; every map is apart from every other.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store { return NewMapStore() },
		NestedNames:   true,

		// Another handle on st's data: another process's client, or the
		// program after a restart. A map's data is the store itself, gone
		// once it is closed.
		OpenAgain: func(t testing.TB, st sessionstore.Store) sessionstore.Store {
			if _, err := st.(*MapStore).Count(context.Background()); errors.Is(err, sessionstore.ErrClosed) {
				return nil
			}
			return st
		},
	})
}
