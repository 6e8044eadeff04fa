package migrate_test

import (
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/storewrap"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/migrate"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/redis"
	"github.com/sessionstore/sessionstore/storetest"
)

func TestMain(m *testing.M) {
	backendtest.ShorterModelRuns(25) // the suite over every backend; each is proven in full in its own package
	testservers.Main(m)
}

// TestConformance runs the suite over the wrapper from one backend to
// another: what the application sees during a move keeps the contract.
func TestConformance(t *testing.T) {
	byName := map[string]backendtest.Backend{}
	for _, b := range backendtest.All() {
		byName[b.Name] = b
	}
	// The new store's maximum, which the wrapper keeps.
	maxData := map[string]int{"memory": 0, "postgres": postgres.DefaultMaxDataSize, "redis": redis.DefaultMaxDataSize}
	for _, pair := range [][2]string{{"memory", "memory"}, {"redis", "postgres"}, {"mongo", "redis"}} {
		old, new := byName[pair[0]], byName[pair[1]]
		max := maxData[pair[1]]
		t.Run(pair[0]+" to "+pair[1], func(t *testing.T) {
			t.Parallel()
			// Opened again, the wrapper is a new one over the old and the
			// new store's data opened again.
			var opener reopen.Opener
			storetest.Run(t, storetest.Harness{
				NewStore: func(t testing.TB) sessionstore.Store {
					o, n := old.NewStore(t), new.NewStore(t)
					return opener.Track(migrate.New(o, n), func(t testing.TB) sessionstore.Store {
						o2, n2 := old.OpenAgain(t, o), new.OpenAgain(t, n)
						if o2 == nil || n2 == nil {
							return nil
						}
						return migrate.New(o2, n2)
					})
				},
				OpenAgain:   opener.OpenAgain,
				MaxDataSize: max,
			})
		})
	}
}

// TestCapabilities checks that the wrapper has exactly the new store's
// capabilities.
func TestCapabilities(t *testing.T) {
	for _, b := range backendtest.All() {
		if b.Name == "memory" || b.Name == "memcache" {
			t.Run(b.Name, func(t *testing.T) {
				st := b.NewStore(t)
				got := storewrap.CapabilitiesOf(migrate.New(memory.New(memory.Options{}), st))
				if want := storewrap.CapabilitiesOf(st); got != want {
					t.Errorf("capabilities %v; want the new store's %v", got, want)
				}
			})
		}
	}
}

// TestFallback checks the three rules over a session only in the old
// store: it is read from there, a write moves it to the new store, a delete
// ends it in both.
func TestFallback(t *testing.T) {
	ctx := t.Context()
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	old, new := memory.New(memory.Options{}), memory.New(memory.Options{})
	st := migrate.New(old, new)
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := old.Save(ctx, id, []byte("old "+id), expiry); err != nil {
			t.Fatal(err)
		}
	}

	rec, found, err := st.Load(ctx, "a")
	if err != nil || !found || string(rec.Data) != "old a" {
		t.Fatalf("Load of a session only in the old store = %q, %v, %v", rec.Data, found, err)
	}
	sw := st.(sessionstore.Swapper)
	if ok, err := sw.CompareAndSwap(ctx, "a", rec.Version+1, []byte("stale"), expiry); ok || err != nil {
		t.Errorf("CompareAndSwap with a wrong version = %v, %v; want false, nil", ok, err)
	}
	if ok, err := sw.CompareAndSwap(ctx, "a", rec.Version, []byte("new a"), expiry); !ok || err != nil {
		t.Errorf("CompareAndSwap with the old store's version = %v, %v; want true, nil", ok, err)
	}
	if got, found, _ := new.Load(ctx, "a"); !found || string(got.Data) != "new a" {
		t.Errorf("the swap did not write to the new store: %q, %v", got.Data, found)
	}
	if got, _, _ := old.Load(ctx, "a"); string(got.Data) != "old a" {
		t.Errorf("the swap wrote to the old store: %q", got.Data)
	}

	later := expiry.Add(time.Minute)
	if ok, err := st.(sessionstore.Toucher).Touch(ctx, "b", later); !ok || err != nil {
		t.Errorf("Touch of a session only in the old store = %v, %v", ok, err)
	}
	if got, found, _ := new.Load(ctx, "b"); !found || string(got.Data) != "old b" || !got.Expiry.Equal(later) {
		t.Errorf("Touch did not move the session to the new store with the new expiry: %q %v %v", got.Data, found, got.Expiry)
	}

	if err := st.Save(ctx, "c", []byte("new c"), expiry); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := old.Load(ctx, "c"); string(got.Data) != "old c" {
		t.Errorf("Save wrote to the old store: %q", got.Data)
	}

	for _, id := range []string{"a", "c", "d"} {
		if err := st.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]sessionstore.Store{"old": old, "new": new, "wrapper": st} {
			if _, found, _ := s.Load(ctx, id); found {
				t.Errorf("after Delete(%s) the %s store still has it", id, name)
			}
		}
	}
	if n, err := sessionstore.Count(ctx, st); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1 (b, in both stores, counted once)", n, err)
	}
}
