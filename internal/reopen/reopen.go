// Package reopen gives a conformance harness its OpenAgain: it remembers
// how each store the harness returned was opened, so that the suite can
// open another handle on the same data (another client of the same
// server, prefix, table or collection; or the program after a restart).
package reopen

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// Opener maps each store it tracks to the function that opens its data
// again. The zero Opener is ready to use.
type Opener struct{ open sync.Map } // sessionstore.Store → func(testing.TB) sessionstore.Store

// Track records that open opens the data of st again, and returns st.
func (o *Opener) Track(st sessionstore.Store, open func(t testing.TB) sessionstore.Store) sessionstore.Store {
	o.open.Store(st, open)
	return st
}

// OpenAgain is a storetest.Harness.OpenAgain for the stores o tracks. The
// store it opens is tracked too.
func (o *Opener) OpenAgain(t testing.TB, st sessionstore.Store) sessionstore.Store {
	t.Helper()
	f, ok := o.open.Load(st)
	if !ok {
		t.Fatalf("reopen: %T %p was not opened by this harness", st, st)
	}
	open := f.(func(testing.TB) sessionstore.Store)
	again := open(t)
	if again == nil {
		return nil
	}
	return o.Track(again, open)
}

// Same is the OpenAgain of an in-process store, such as the memory
// store, whose data lives in the Store value itself: another handle on it
// is that value, and once it is closed (its calls fail with
// sessionstore.ErrClosed) its data is gone, so Same returns nil.
func Same(t testing.TB, st sessionstore.Store) sessionstore.Store {
	if _, _, err := st.Load(context.Background(), "reopen probe"); errors.Is(err, sessionstore.ErrClosed) {
		return nil
	}
	return st
}

// Wrapped tracks w, a wrapper made by wrap over inner: opened again, it is
// wrap over innerAgain's handle on inner's data (nil when innerAgain
// returns nil).
func (o *Opener) Wrapped(w, inner sessionstore.Store, innerAgain func(testing.TB, sessionstore.Store) sessionstore.Store,
	wrap func(testing.TB, sessionstore.Store) sessionstore.Store) sessionstore.Store {
	return o.Track(w, func(t testing.TB) sessionstore.Store {
		again := innerAgain(t, inner)
		if again == nil {
			return nil
		}
		return wrap(t, again)
	})
}
