package sessionstore_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// upperStore is what a user writes to change a memory store's records on
// their way in and out: it embeds *memory.Store, so it inherits the
// copy-free methods (sessionstore.Sharer), and overrides the copying ones.
type upperStore struct {
	*memory.Store
	loads, saves, swaps atomic.Int64
}

func (u *upperStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	u.loads.Add(1)
	return u.Store.Load(ctx, id)
}

func (u *upperStore) Save(ctx context.Context, id string, data []byte, exp time.Time) error {
	u.saves.Add(1)
	return u.Store.Save(ctx, id, data, exp)
}

func (u *upperStore) CompareAndSwap(ctx context.Context, id string, v uint64, data []byte, exp time.Time) (bool, error) {
	u.swaps.Add(1)
	return u.Store.CompareAndSwap(ctx, id, v, data, exp)
}

// TestEmbeddedSharerIsNotGoneAround: a Manager over a type that embeds a
// Sharer calls the type's own Load, Save and CompareAndSwap, never the
// embedded store's shared methods, while a Manager over the memory store
// itself takes the copy-free path.
func TestEmbeddedSharerIsNotGoneAround(t *testing.T) {
	u := &upperStore{Store: newMemory(t, nil)}
	if _, ok := any(u).(sessionstore.Sharer); !ok {
		t.Fatal("upperStore does not inherit the Sharer methods: the test proves nothing")
	}
	c := serve(t, sessionstore.New(u), func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
	})
	for range 3 {
		c.get("/")
	}
	// First request: a new session, saved; then two loads, each followed
	// by a swap.
	if l, s, w := u.loads.Load(), u.saves.Load(), u.swaps.Load(); l != 2 || s+w != 3 {
		t.Errorf("the wrapper saw %d loads and %d saves + %d swaps; want 2 loads and 3 writes: the Manager went around it", l, s, w)
	}
	if sessionstore.UsesSharedPath(sessionstore.New(u)) {
		t.Error("a Manager over the wrapper reports the copy-free path")
	}
	if !sessionstore.UsesSharedPath(sessionstore.New(newMemory(t, nil))) {
		t.Error("a Manager over the memory store itself does not take the copy-free path")
	}
}
