package storetest

import (
	"context"
	"time"

	"github.com/sessionstore/sessionstore"
)

// op is one method of a store, called in a uniform way so that the rules
// that hold for every method (context, unreachable database, invalid ids,
// closed store) can be checked on each of them.
type op struct {
	name string
	// takesID is false for the methods without an id (Iterate, Count).
	takesID bool
	// claim says what the method reported when it claimed success
	// ("reported found"): a call that fails must not claim it.
	claim string
	// never is that rule, for subtest names ("never reports found").
	never string
	call  func(ctx context.Context, st *store, id string) (claimed bool, err error)
}

// opData is what the ops write.
const opData = "written by an op"

// ops returns the methods st implements.
func ops(st *store) []op {
	later := time.Now().Add(longLife)
	list := []op{
		{name: "Load", takesID: true, claim: "reported found", never: "never reports found", call: func(ctx context.Context, st *store, id string) (bool, error) {
			_, found, err := st.Load(ctx, id)
			return found, err
		}},
		{name: "Save", takesID: true, call: func(ctx context.Context, st *store, id string) (bool, error) {
			return false, st.Save(ctx, id, []byte(opData), later)
		}},
		{name: "Delete", takesID: true, call: func(ctx context.Context, st *store, id string) (bool, error) {
			return false, st.Delete(ctx, id)
		}},
	}
	if st.toucher != nil {
		list = append(list, op{name: "Touch", takesID: true, claim: "reported found", never: "never reports found", call: func(ctx context.Context, st *store, id string) (bool, error) {
			return st.toucher.Touch(ctx, id, later)
		}})
	}
	if st.swapper != nil {
		list = append(list, op{name: "CompareAndSwap", takesID: true, claim: "reported swapped", never: "never reports swapped", call: func(ctx context.Context, st *store, id string) (bool, error) {
			return st.swapper.CompareAndSwap(ctx, id, 0, []byte(opData), later)
		}})
	}
	if st.iterator != nil {
		list = append(list, op{name: "Iterate", claim: "visited a record", never: "visits nothing", call: func(ctx context.Context, st *store, _ string) (bool, error) {
			visited := false
			err := st.iterator.Iterate(ctx, func(string, sessionstore.Record) bool { visited = true; return true })
			return visited, err
		}})
	}
	if st.counter != nil {
		list = append(list, op{name: "Count", claim: "counted records", never: "counts nothing", call: func(ctx context.Context, st *store, _ string) (bool, error) {
			n, err := st.counter.Count(ctx)
			return n > 0, err
		}})
	}
	return list
}

// idOps returns the methods of st that take an id.
func idOps(st *store) []op {
	var list []op
	for _, o := range ops(st) {
		if o.takesID {
			list = append(list, o)
		}
	}
	return list
}
