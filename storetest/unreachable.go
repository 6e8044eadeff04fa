package storetest

import (
	"context"
	"time"
)

// Rule 8: when the database is unreachable, calls fail with a descriptive
// wrapped error, bounded by the context; never a panic, never a false
// "found".

const (
	// unreachableDeadline is the context deadline of each call.
	unreachableDeadline = 2 * time.Second
	// unreachableGrace is how long past the deadline a call may take to
	// return: generous, for loaded machines.
	unreachableGrace = 2 * time.Second
)

func (s *suite) unreachable(t tester) {
	t.Run("Unreachable", func(t tester) {
		if s.h.NewUnreachableStore == nil {
			t.Skipf("Harness.NewUnreachableStore is nil")
		}
		for _, o := range ops(s.probe) {
			name := o.name + " fails within the deadline"
			if o.never != "" {
				name += " and " + o.never
			}
			t.Run(name, func(t tester) {
				st := s.newUnreachable(t)
				t.Parallel() // each may wait for its deadline
				s.unreachableOp(t, st, o)
			})
		}
		if s.probe.closer != nil {
			t.Run("Close does not panic", func(t tester) {
				st := s.newUnreachable(t)
				if st.closer == nil {
					t.Fatalf("the unreachable store does not implement io.Closer, the store does")
				}
				within(t, unreachableDeadline+unreachableGrace, "Close", func() { _ = st.closer.Close() })
			})
		}
	})
}

func (s *suite) newUnreachable(t tester) *store {
	t.Helper()
	st := s.h.NewUnreachableStore(tb(t))
	if st == nil {
		t.Fatalf("Harness.NewUnreachableStore returned nil")
	}
	return newStore(st)
}

func (s *suite) unreachableOp(t tester, st *store, o op) {
	// The unreachable store is built like the others: it must offer the
	// same methods.
	var call *op
	for _, u := range ops(st) {
		if u.name == o.name {
			call = &u
		}
	}
	if call == nil {
		t.Fatalf("the unreachable store does not implement %s, the store does", o.name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), unreachableDeadline)
	defer cancel()
	var claimed bool
	var err error
	if !within(t, unreachableDeadline+unreachableGrace, o.name, func() { claimed, err = call.call(ctx, st, "unreachable") }) {
		return
	}
	if err == nil {
		t.Errorf("%s on an unreachable database = nil error; want an error", o.name)
	} else {
		t.Logf("%s: %v", o.name, err)
	}
	if claimed {
		t.Errorf("%s on an unreachable database %s", o.name, o.claim)
	}
}
