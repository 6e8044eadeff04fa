package storetest

import (
	"context"
	"time"
)

// Rule 8: when the database is unreachable, calls fail with a descriptive
// wrapped error, bounded by the context; never a panic, never a false
// "found".

const (
	// unreachableDeadline is the context deadline of each call. The calls
	// run in parallel, so the group costs about this much even on a store
	// that waits for its deadline every time.
	unreachableDeadline = time.Second
	// unreachableGrace is how long past the deadline a call may take to
	// return: room for a loaded machine, yet catching a store that waits
	// for a network timeout of its own rather than the context.
	unreachableGrace = 500 * time.Millisecond
)

func (s *suite) unreachable(t tester) {
	var kept []op
	for _, o := range ops(s.probe) {
		if !s.skip("Unreachable/" + unreachableName(o)) {
			kept = append(kept, o)
		}
	}
	closeKept := s.probe.closer != nil && !s.skip("Unreachable/Close does not panic")
	if len(kept) == 0 && !closeKept {
		return // the run leaves out every rule of the group
	}
	t.Run("Unreachable", func(t tester) {
		if s.h.NewUnreachableStore == nil {
			t.Skipf("Harness.NewUnreachableStore is nil")
		}
		for _, o := range kept {
			t.Run(unreachableName(o), func(t tester) {
				st := s.newUnreachable(t)
				t.Parallel() // each may wait for its deadline
				s.unreachableOp(t, st, o)
			})
		}
		if closeKept {
			t.Run("Close does not panic", func(t tester) {
				st := s.newUnreachable(t)
				t.Parallel()
				if st.closer == nil {
					t.Fatalf("the unreachable store does not implement io.Closer, the store does")
				}
				within(t, unreachableDeadline+unreachableGrace, "Close", func() { _ = st.closer.Close() })
			})
		}
	})
}

// unreachableName is the name of the rule that o fails on an unreachable
// server.
func unreachableName(o op) string {
	name := o.name + " fails within the deadline"
	if o.never != "" {
		name += " and " + o.never
	}
	return name
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
