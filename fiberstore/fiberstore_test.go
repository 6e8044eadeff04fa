package fiberstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	fiberv2 "github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/fiberstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

// Both of Fiber's Storage interfaces, checked by the compiler.
var (
	_ fiberv2.Storage = (*fiberstore.Storage)(nil)
	_ fiberv3.Storage = (*fiberstore.Storage)(nil)
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestStorage checks Fiber's Storage semantics on every backend, each over
// its real server in a container, through both method sets.
func TestStorage(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runStorage(t, b)
		})
	}
}

func runStorage(t *testing.T, b backendtest.Backend) {
	ctx := context.Background()
	t.Run("a missing key reads as nil with no error", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		if v, err := s.Get("missing"); v != nil || err != nil {
			t.Fatalf("Get = %q, %v; want nil, nil", v, err)
		}
		if v, err := s.GetWithContext(ctx, "missing"); v != nil || err != nil {
			t.Fatalf("GetWithContext = %q, %v; want nil, nil", v, err)
		}
	})
	t.Run("values round-trip across both method sets", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		mustNil(t, s.Set("v2", []byte("set by v2"), time.Minute))
		mustNil(t, s.SetWithContext(ctx, "v3", []byte("set by v3"), time.Minute))
		wantValue(t, s, "v2", "set by v2")
		wantValue(t, s, "v3", "set by v3")
		if v, err := s.Get("v3"); string(v) != "set by v3" || err != nil {
			t.Fatalf("Get(v3) = %q, %v", v, err)
		}
		mustNil(t, s.Set("v2", []byte("overwritten"), time.Minute))
		wantValue(t, s, "v2", "overwritten")
	})
	t.Run("an empty value reads as a non-nil empty slice", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		mustNil(t, s.Set("empty", nil, time.Minute))
		v, err := s.Get("empty")
		if err != nil || v == nil || len(v) != 0 {
			t.Fatalf("Get = %#v, %v; want []byte{}, nil", v, err)
		}
	})
	t.Run("keys are stored as their hash, at any length", func(t *testing.T) {
		store := b.NewStore(t)
		s := fiberstore.New(store, fiberstore.Options{})
		long := "GET_/" + strings.Repeat("path/", 200) // longer than sessionstore.MaxIDLength
		for _, key := range []string{"plain", long, "spaces and\nnewlines"} {
			mustNil(t, s.Set(key, []byte("x"), time.Minute))
			wantValue(t, s, key, "x")
			if _, found, _ := store.Load(ctx, key); found && len(key) <= sessionstore.MaxIDLength {
				t.Errorf("the store holds the raw key %q: want its hash", key)
			}
			if _, found, err := store.Load(ctx, fiberstore.StoreKey(key)); !found || err != nil {
				t.Errorf("Load(StoreKey(%.20q)) = %v, %v; want found", key, found, err)
			}
		}
	})
	t.Run("an expiration of 0 lives for NoExpiry", func(t *testing.T) {
		store := b.NewStore(t)
		for _, c := range []struct {
			opts fiberstore.Options
			want time.Duration
		}{
			{fiberstore.Options{}, fiberstore.DefaultNoExpiry},
			{fiberstore.Options{NoExpiry: 90 * 24 * time.Hour}, 90 * 24 * time.Hour},
		} {
			s := fiberstore.New(store, c.opts)
			mustNil(t, s.Set("forever", []byte("x"), 0))
			wantExpiry(t, store, "forever", c.want)
		}
	})
	t.Run("a positive expiration sets the expiry, a negative one removes the key", func(t *testing.T) {
		store := b.NewStore(t)
		s := fiberstore.New(store, fiberstore.Options{})
		mustNil(t, s.SetWithContext(ctx, "k", []byte("x"), time.Hour))
		wantExpiry(t, store, "k", time.Hour)
		mustNil(t, s.Set("k", []byte("x"), -time.Second))
		if v, err := s.Get("k"); v != nil || err != nil {
			t.Fatalf("after a negative expiration Get = %q, %v; want nil, nil", v, err)
		}
	})
	t.Run("delete removes the key, deleting a missing key is not an error", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		mustNil(t, s.Set("k", []byte("x"), time.Minute))
		mustNil(t, s.Delete("k"))
		if v, err := s.Get("k"); v != nil || err != nil {
			t.Fatalf("after Delete Get = %q, %v", v, err)
		}
		mustNil(t, s.Delete("k"))
		mustNil(t, s.DeleteWithContext(ctx, "never set"))
	})
	t.Run("an empty key fails with ErrInvalidID on every method", func(t *testing.T) {
		store := b.NewStore(t)
		s := fiberstore.New(store, fiberstore.Options{})
		_, errGet := s.Get("")
		_, errGetCtx := s.GetWithContext(ctx, "")
		for name, err := range map[string]error{
			"Get":               errGet,
			"GetWithContext":    errGetCtx,
			"Set":               s.Set("", []byte("x"), time.Minute),
			"SetWithContext":    s.SetWithContext(ctx, "", []byte("x"), time.Minute),
			"Delete":            s.Delete(""),
			"DeleteWithContext": s.DeleteWithContext(ctx, ""),
		} {
			if !errors.Is(err, sessionstore.ErrInvalidID) || !strings.HasPrefix(err.Error(), "fiberstore: ") {
				t.Errorf("%s(\"\") = %v; want fiberstore: ... ErrInvalidID", name, err)
			}
		}
		if n := count(t, store); n > 0 {
			t.Errorf("the store holds %d records after the empty-key calls; want none", n)
		}
	})
	t.Run("a cancelled context ends every call with its error", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, errGet := s.GetWithContext(cctx, "k")
		for name, err := range map[string]error{
			"GetWithContext":    errGet,
			"SetWithContext":    s.SetWithContext(cctx, "k", []byte("x"), time.Minute),
			"DeleteWithContext": s.DeleteWithContext(cctx, "k"),
		} {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s = %v; want an error wrapping context.Canceled", name, err)
			}
		}
	})
	t.Run("Reset deletes only this store's records", func(t *testing.T) {
		mine, theirs := b.NewStore(t), b.NewStore(t) // one server, two prefixes / tables / collections
		s, other := fiberstore.New(mine, fiberstore.Options{}), fiberstore.New(theirs, fiberstore.Options{})
		for i := range 5 {
			mustNil(t, s.Set(fmt.Sprint("key", i), []byte("x"), time.Minute))
		}
		mustNil(t, other.Set("key0", []byte("theirs"), time.Minute))
		err := s.Reset()
		if _, ok := mine.(sessionstore.Iterator); !ok {
			if !errors.Is(err, errors.ErrUnsupported) || !strings.HasPrefix(err.Error(), "fiberstore: reset: ") {
				t.Fatalf("Reset on a store that cannot iterate = %v; want fiberstore: reset: ... ErrUnsupported", err)
			}
			wantValue(t, s, "key0", "x") // nothing deleted
			return
		}
		mustNil(t, err)
		if n := count(t, mine); n != 0 {
			t.Fatalf("%d records left after Reset; want 0", n)
		}
		wantValue(t, other, "key0", "theirs")
		mustNil(t, s.ResetWithContext(ctx)) // an empty store resets too
	})
	t.Run("Close closes the store", func(t *testing.T) {
		s := fiberstore.New(b.NewStore(t), fiberstore.Options{})
		mustNil(t, s.Close())
	})
}

// TestResetBatches resets more records than one batch of the walk.
func TestResetBatches(t *testing.T) {
	store := memory.New(memory.Options{})
	defer store.Close()
	s := fiberstore.New(store, fiberstore.Options{})
	for i := range 2500 {
		mustNil(t, s.Set(fmt.Sprint(i), []byte("x"), time.Minute))
	}
	mustNil(t, s.Reset())
	if n := count(t, store); n != 0 {
		t.Fatalf("%d records left after Reset; want 0", n)
	}
}

func TestCloseClosesACloser(t *testing.T) {
	store := memory.New(memory.Options{})
	s := fiberstore.New(store, fiberstore.Options{})
	mustNil(t, s.Close())
	if _, err := s.Get("k"); !errors.Is(err, sessionstore.ErrClosed) {
		t.Fatalf("Get after Close = %v; want ErrClosed from the closed memory store", err)
	}
	// A store without Close is left alone.
	mustNil(t, fiberstore.New(struct{ sessionstore.Store }{store}, fiberstore.Options{}).Close())
}

// blockingStore never answers Load until its context ends, as a server that
// hangs would.
type blockingStore struct{ sessionstore.Store }

func (blockingStore) Load(ctx context.Context, _ string) (sessionstore.Record, bool, error) {
	<-ctx.Done()
	return sessionstore.Record{}, false, ctx.Err()
}

func TestTimeoutBoundsCallsWithoutContext(t *testing.T) {
	s := fiberstore.New(blockingStore{}, fiberstore.Options{Timeout: 20 * time.Millisecond})
	if _, err := s.Get("k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on a hanging store = %v; want DeadlineExceeded after Options.Timeout", err)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantValue(t *testing.T, s *fiberstore.Storage, key, want string) {
	t.Helper()
	v, err := s.GetWithContext(context.Background(), key)
	if err != nil || !bytes.Equal(v, []byte(want)) {
		t.Fatalf("GetWithContext(%.20q) = %q, %v; want %q", key, v, err, want)
	}
}

// wantExpiry checks that the record of key expires lifetime from now, give or
// take the time the test took.
func wantExpiry(t *testing.T, store sessionstore.Store, key string, lifetime time.Duration) {
	t.Helper()
	rec, found, err := store.Load(context.Background(), fiberstore.StoreKey(key))
	if !found || err != nil {
		t.Fatalf("Load(StoreKey(%q)) = %v, %v", key, found, err)
	}
	if d := time.Until(rec.Expiry) - lifetime; d > time.Second || d < -time.Minute {
		t.Fatalf("expiry %v is %v from now + %v", rec.Expiry, d, lifetime)
	}
}

// count returns the number of live records, or -1 when the store cannot
// count them (memcached).
func count(t *testing.T, s sessionstore.Store) int {
	t.Helper()
	n, err := sessionstore.Count(context.Background(), s)
	if errors.Is(err, errors.ErrUnsupported) {
		return -1
	}
	mustNil(t, err)
	return n
}

// nilDataStore loads empty data as nil, as a Store may: the contract says
// empty data round-trips, not which empty slice comes back.
type nilDataStore struct{ sessionstore.Store }

func (s nilDataStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	rec, found, err := s.Store.Load(ctx, id)
	if len(rec.Data) == 0 {
		rec.Data = nil
	}
	return rec, found, err
}

func TestEmptyValueIsNotMissing(t *testing.T) {
	store := memory.New(memory.Options{})
	defer store.Close()
	s := fiberstore.New(nilDataStore{store}, fiberstore.Options{})
	mustNil(t, s.Set("empty", []byte{}, time.Minute))
	if v, err := s.Get("empty"); v == nil || err != nil {
		t.Fatalf("Get of an empty value from a store that loads it as nil = %#v, %v; want []byte{}, nil", v, err)
	}
}
