package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// clock is a settable clock for Options.Now.
type clock struct{ nanos atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.nanos.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time                  { return time.Unix(0, c.nanos.Load()) }
func (c *clock) Advance(d time.Duration)         { c.nanos.Add(int64(d)) }
func (c *clock) After(d time.Duration) time.Time { return c.Now().Add(d) }

// newStore returns a store closed when the test ends.
func newStore(t testing.TB, opts memory.Options) *memory.Store {
	t.Helper()
	s := memory.New(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSave(t testing.TB, s *memory.Store, id string, data []byte, expiry time.Time) {
	t.Helper()
	if err := s.Save(context.Background(), id, data, expiry); err != nil {
		t.Fatalf("Save(%q): %v", id, err)
	}
}

func mustLoad(t testing.TB, s *memory.Store, id string) (sessionstore.Record, bool) {
	t.Helper()
	rec, ok, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%q): %v", id, err)
	}
	return rec, ok
}

var (
	_ sessionstore.Store    = (*memory.Store)(nil)
	_ sessionstore.Toucher  = (*memory.Store)(nil)
	_ sessionstore.Swapper  = (*memory.Store)(nil)
	_ sessionstore.Iterator = (*memory.Store)(nil)
	_ sessionstore.Counter  = (*memory.Store)(nil)
)

func TestSaveCopiesCallerBuffer(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	buf := []byte("user=alice")
	mustSave(t, s, "a", buf, time.Now().Add(time.Hour))
	// A caller reusing its buffer for the next session must not change
	// the stored one (scs's memstore keeps the slice and would).
	copy(buf, "user=mallo")
	rec, ok := mustLoad(t, s, "a")
	if !ok || string(rec.Data) != "user=alice" {
		t.Fatalf("after reusing the saved buffer, Load = %q, %v; want %q", rec.Data, ok, "user=alice")
	}
}

func TestLoadReturnsCallersCopy(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	mustSave(t, s, "a", []byte("user=alice"), time.Now().Add(time.Hour))
	rec, _ := mustLoad(t, s, "a")
	copy(rec.Data, "user=mallo")
	again, _ := mustLoad(t, s, "a")
	if string(again.Data) != "user=alice" {
		t.Fatalf("after changing loaded data, Load = %q; want %q", again.Data, "user=alice")
	}
}

func TestEmptyDataIsFound(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	mustSave(t, s, "a", nil, time.Now().Add(time.Hour))
	rec, ok := mustLoad(t, s, "a")
	if !ok || rec.Data == nil || len(rec.Data) != 0 {
		t.Fatalf("Load of empty data = %#v, %v; want non-nil empty, true", rec.Data, ok)
	}
}

func TestOneAllocationPerCopy(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 300)
	exp := time.Now().Add(time.Hour)
	mustSave(t, s, "a", data, exp)
	if n := testing.AllocsPerRun(100, func() { s.Save(ctx, "a", data, exp) }); n > 1 {
		t.Errorf("Save over an existing id: %v allocations; want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Load(ctx, "a") }); n > 1 {
		t.Errorf("Load: %v allocations; want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Load(ctx, "missing") }); n != 0 {
		t.Errorf("Load of a missing id: %v allocations; want 0", n)
	}
}

func TestExactExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{Now: clk.Now})
	ctx := context.Background()
	exp := clk.After(time.Second)
	mustSave(t, s, "a", []byte("x"), exp)

	clk.Advance(time.Second - time.Nanosecond)
	if rec, ok := mustLoad(t, s, "a"); !ok || !rec.Expiry.Equal(exp) {
		t.Fatalf("1 ns before expiry: Load = %v, %v; want found with expiry %v", rec.Expiry, ok, exp)
	}
	clk.Advance(time.Nanosecond)
	if _, ok := mustLoad(t, s, "a"); ok {
		t.Fatal("at expiry: Load found the record")
	}
	if ok, err := s.Touch(ctx, "a", clk.After(time.Hour)); ok || err != nil {
		t.Fatalf("Touch at expiry = %v, %v; want false, nil", ok, err)
	}
	if n, err := s.Count(ctx); n != 0 || err != nil {
		t.Fatalf("Count at expiry = %d, %v; want 0", n, err)
	}
	s.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
		t.Errorf("Iterate visited expired %q", id)
		return true
	})
}

func TestExpiryInThePastHidesRecord(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{Now: clk.Now})
	ctx := context.Background()
	for _, exp := range []time.Time{clk.Now(), clk.After(-time.Hour), {}} {
		mustSave(t, s, "a", []byte("x"), clk.After(time.Hour))
		mustSave(t, s, "a", []byte("y"), exp)
		if _, ok := mustLoad(t, s, "a"); ok {
			t.Errorf("Save with expiry %v: still found", exp)
		}
		mustSave(t, s, "b", []byte("x"), clk.After(time.Hour))
		if ok, err := s.Touch(ctx, "b", exp); !ok || err != nil {
			t.Errorf("Touch into the past = %v, %v; want true, nil", ok, err)
		}
		if _, ok := mustLoad(t, s, "b"); ok {
			t.Errorf("Touch with expiry %v: still found", exp)
		}
	}
	if n, err := s.Count(ctx); n != 0 || err != nil {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
	s.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
		t.Errorf("Iterate visited %q, saved or touched into the past", id)
		return true
	})
}

func TestFarFutureExpiry(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	mustSave(t, s, "a", []byte("x"), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, ok := mustLoad(t, s, "a"); !ok {
		t.Fatal("record expiring in year 9999 not found")
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	seen := map[uint64]bool{}
	version := func(id string) uint64 {
		t.Helper()
		rec, ok := mustLoad(t, s, id)
		if !ok || rec.Version == 0 {
			t.Fatalf("Load(%q) = version %d, found %v; want a non-zero version", id, rec.Version, ok)
		}
		return rec.Version
	}
	for i := range 200 {
		id := fmt.Sprint("id", i%7)
		mustSave(t, s, id, []byte("x"), exp)
		v := version(id)
		if seen[v] {
			t.Fatalf("Save %d gave version %d twice", i, v)
		}
		seen[v] = true
		ok, err := s.CompareAndSwap(ctx, id, v, []byte("y"), exp)
		if !ok || err != nil {
			t.Fatalf("CompareAndSwap on the current version = %v, %v", ok, err)
		}
		v = version(id)
		if seen[v] {
			t.Fatalf("CompareAndSwap %d gave version %d twice", i, v)
		}
		seen[v] = true
	}
	v := version("id0")
	if ok, err := s.Touch(ctx, "id0", exp.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("Touch = %v, %v", ok, err)
	}
	if got := version("id0"); got != v {
		t.Errorf("Touch changed the version from %d to %d; it keeps it, so a touch does not fail a concurrent swap", v, got)
	}
}

func TestCompareAndSwap(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{Now: clk.Now})
	ctx := context.Background()
	cas := func(id string, v uint64, data string) bool {
		t.Helper()
		ok, err := s.CompareAndSwap(ctx, id, v, []byte(data), clk.After(time.Second))
		if err != nil {
			t.Fatalf("CompareAndSwap(%q, %d): %v", id, v, err)
		}
		return ok
	}
	if !cas("a", 0, "1") {
		t.Fatal("version 0 on a missing id did not write")
	}
	if cas("a", 0, "2") {
		t.Fatal("version 0 on a live id wrote")
	}
	rec, _ := mustLoad(t, s, "a")
	if cas("a", rec.Version+1, "2") {
		t.Fatal("a wrong version wrote")
	}
	if !cas("a", rec.Version, "2") {
		t.Fatal("the current version did not write")
	}
	if cas("a", rec.Version, "3") {
		t.Fatal("a version already replaced wrote")
	}
	if got, _ := mustLoad(t, s, "a"); string(got.Data) != "2" {
		t.Fatalf("data = %q; want %q", got.Data, "2")
	}
	rec, _ = mustLoad(t, s, "a")
	clk.Advance(time.Second)
	if cas("a", rec.Version, "4") {
		t.Fatal("the version of an expired record wrote")
	}
	if !cas("a", 0, "5") {
		t.Fatal("version 0 over an expired record did not write")
	}
}

// TestConditionalDeleteAtNow: a winning CompareAndSwap whose expiry is
// exactly now removes the record, rather than keeping one that no read
// would return but that still holds memory and a place under MaxSessions.
func TestConditionalDeleteAtNow(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{CleanupInterval: -1, Now: clk.Now})
	mustSave(t, s, "a", []byte("x"), clk.After(time.Hour))
	rec, _ := mustLoad(t, s, "a")
	if ok, err := s.CompareAndSwap(context.Background(), "a", rec.Version, []byte("y"), clk.Now()); !ok || err != nil {
		t.Fatalf("CompareAndSwap to expire now = %v, %v; want true, nil", ok, err)
	}
	if n := s.Held(); n != 0 {
		t.Errorf("after a conditional delete at now, the store holds %d records; want 0", n)
	}
}

// TestShardsSpread: ids spread over every shard, so that calls on
// different sessions take different locks.
func TestShardsSpread(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	for i := range 1000 {
		mustSave(t, s, fmt.Sprint("id", i), []byte("x"), time.Now().Add(time.Hour))
	}
	for i, n := range s.ShardLens() {
		if n < 1000/len(s.ShardLens())/3 {
			t.Errorf("shard %d holds %d of 1000 records; want them spread evenly", i, n)
		}
	}
}

func TestMaxDataSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		opt, max int
	}{{0, memory.DefaultMaxDataSize}, {100, 100}} {
		s := newStore(t, memory.Options{MaxDataSize: tc.opt})
		mustSave(t, s, "a", make([]byte, tc.max), exp)
		err := s.Save(ctx, "a", make([]byte, tc.max+1), exp)
		if !errors.Is(err, sessionstore.ErrTooLarge) || !strings.HasPrefix(err.Error(), "memory: save: ") {
			t.Errorf("MaxDataSize %d: Save of %d bytes = %v; want memory: save: ... ErrTooLarge", tc.opt, tc.max+1, err)
		}
		rec, _ := mustLoad(t, s, "a")
		ok, err := s.CompareAndSwap(ctx, "a", rec.Version, make([]byte, tc.max+1), exp)
		if ok || !errors.Is(err, sessionstore.ErrTooLarge) {
			t.Errorf("MaxDataSize %d: CompareAndSwap of %d bytes = %v, %v; want ErrTooLarge", tc.opt, tc.max+1, ok, err)
		}
		if got, ok := mustLoad(t, s, "a"); !ok || len(got.Data) != tc.max || got.Version != rec.Version {
			t.Errorf("MaxDataSize %d: after too-large writes, record = %d bytes version %d (found %v); want it intact", tc.opt, len(got.Data), got.Version, ok)
		}
	}
	s := newStore(t, memory.Options{MaxDataSize: -1})
	mustSave(t, s, "a", make([]byte, 2*memory.DefaultMaxDataSize), exp)
}

func TestMaxSessions(t *testing.T) {
	t.Parallel()
	const max = 100
	clk := newClock()
	s := newStore(t, memory.Options{MaxSessions: max, CleanupInterval: -1, Now: clk.Now})
	ctx := context.Background()
	long, short := clk.After(time.Hour), clk.After(time.Minute)
	// Half expire soon, half later, spread over every shard.
	for i := range max {
		exp := long
		if i%2 == 1 {
			exp = short
		}
		mustSave(t, s, fmt.Sprint("id", i), []byte("x"), exp)
	}
	wantFull := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, sessionstore.ErrFull) {
			t.Fatalf("%s at the cap: %v; want ErrFull", what, err)
		}
	}
	wantFull("Save of a new id", s.Save(ctx, "new", []byte("x"), long))
	_, err := s.CompareAndSwap(ctx, "new", 0, []byte("x"), long)
	wantFull("CompareAndSwap of a new id", err)
	if _, ok := mustLoad(t, s, "new"); ok {
		t.Fatal("a rejected id was stored")
	}

	// Stored ids stay writable at the cap.
	mustSave(t, s, "id0", []byte("overwritten"), long)
	rec, _ := mustLoad(t, s, "id0")
	if ok, err := s.CompareAndSwap(ctx, "id0", rec.Version, []byte("swapped"), long); !ok || err != nil {
		t.Fatalf("CompareAndSwap of a stored id at the cap = %v, %v", ok, err)
	}
	if ok, err := s.Touch(ctx, "id0", long.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("Touch at the cap = %v, %v", ok, err)
	}
	// A delete frees a place for exactly one new id.
	if err := s.Delete(ctx, "id0"); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, "new", []byte("x"), long)
	wantFull("Save of a second new id", s.Save(ctx, "new2", []byte("x"), long))

	// Once half the records have expired, a new id removes them and fits.
	clk.Advance(time.Minute)
	if got := s.Held(); got != max {
		t.Fatalf("before the next new id, store holds %d; want %d (no cleanup goroutine)", got, max)
	}
	mustSave(t, s, "new2", []byte("x"), long)
	if got, want := s.Held(), int64(max/2+1); got != want {
		t.Errorf("after a new id at the cap, store holds %d; want %d (expired ones removed)", got, want)
	}
	if n, _ := s.Count(ctx); n != max/2+1 {
		t.Errorf("Count = %d; want %d", n, max/2+1)
	}
}

func TestMaxSessionsUnderConcurrency(t *testing.T) {
	t.Parallel()
	const max = 50
	s := newStore(t, memory.Options{MaxSessions: max})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var stored, full atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				err := s.Save(ctx, fmt.Sprint(g, "-", i), []byte("x"), exp)
				switch {
				case err == nil:
					stored.Add(1)
				case errors.Is(err, sessionstore.ErrFull):
					full.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if stored.Load() != max || full.Load() != 160-max {
		t.Errorf("%d saves succeeded and %d were full; want exactly %d and %d", stored.Load(), full.Load(), max, 160-max)
	}
	if n, _ := s.Count(ctx); n != max {
		t.Errorf("Count = %d; want %d", n, max)
	}
}

func TestOptionDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts     memory.Options
		sessions int64
		dataSize int
	}{
		{memory.Options{}, memory.DefaultMaxSessions, memory.DefaultMaxDataSize},
		{memory.Options{MaxSessions: -1, MaxDataSize: -1}, -1, math.MaxInt},
		{memory.Options{MaxSessions: 5, MaxDataSize: 7}, 5, 7},
	} {
		s := newStore(t, tc.opts)
		if sessions, size := s.Limits(); sessions != tc.sessions || size != tc.dataSize {
			t.Errorf("%+v: MaxSessions %d, MaxDataSize %d; want %d, %d", tc.opts, sessions, size, tc.sessions, tc.dataSize)
		}
	}
}

// TestShardSize: the padding of a shard keeps two shards off one cache line.
func TestShardSize(t *testing.T) {
	if memory.ShardSize != 64 {
		t.Errorf("a shard takes %d bytes; want 64, one cache line", memory.ShardSize)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	mustSave(t, s, "a", []byte("x"), time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	exp := time.Now().Add(time.Hour)
	for op, call := range calls(s, ctx, exp) {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v; want context.Canceled", op, err)
		}
	}
	if rec, ok := mustLoad(t, s, "a"); !ok || string(rec.Data) != "x" {
		t.Error("calls with a cancelled context changed the store")
	}
}

func TestIterateStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	exp := time.Now().Add(time.Hour)
	for i := range 100 {
		mustSave(t, s, fmt.Sprint(i), nil, exp)
	}
	ctx, cancel := context.WithCancel(context.Background())
	visited := 0
	err := s.Iterate(ctx, func(string, sessionstore.Record) bool {
		visited++
		cancel()
		return true
	})
	if !errors.Is(err, context.Canceled) || visited != 1 {
		t.Errorf("Iterate cancelled in fn: %v after %d visits; want context.Canceled after 1", err, visited)
	}
}

// calls returns a call of every method of s, by name.
func calls(s *memory.Store, ctx context.Context, exp time.Time) map[string]func() error {
	return map[string]func() error{
		"Load":           func() error { _, _, err := s.Load(ctx, "a"); return err },
		"Save":           func() error { return s.Save(ctx, "a", []byte("y"), exp) },
		"Delete":         func() error { return s.Delete(ctx, "a") },
		"Touch":          func() error { _, err := s.Touch(ctx, "a", exp); return err },
		"CompareAndSwap": func() error { _, err := s.CompareAndSwap(ctx, "a", 0, []byte("y"), exp); return err },
		"Iterate":        func() error { return s.Iterate(ctx, func(string, sessionstore.Record) bool { return true }) },
		"Count":          func() error { _, err := s.Count(ctx); return err },
	}
}

func TestInvalidID(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{"", strings.Repeat("x", sessionstore.MaxIDLength+1)} {
		_, _, err := s.Load(ctx, id)
		errs := []error{err, s.Save(ctx, id, nil, exp), s.Delete(ctx, id)}
		_, err = s.Touch(ctx, id, exp)
		errs = append(errs, err)
		_, err = s.CompareAndSwap(ctx, id, 0, nil, exp)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, sessionstore.ErrInvalidID) || !strings.HasPrefix(err.Error(), "memory: ") {
				t.Errorf("call %d with a %d-byte id: %v; want memory: ... ErrInvalidID", i, len(id), err)
			}
		}
	}
	mustSave(t, s, strings.Repeat("x", sessionstore.MaxIDLength), nil, exp)
	if n, _ := s.Count(ctx); n != 1 {
		t.Errorf("Count = %d; want only the valid id", n)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Options{})
	mustSave(t, s, "a", []byte("x"), time.Now().Add(time.Hour))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for op, call := range calls(s, context.Background(), time.Now().Add(time.Hour)) {
		if err := call(); !errors.Is(err, sessionstore.ErrClosed) || !strings.HasPrefix(err.Error(), "memory: ") {
			t.Errorf("%s after Close: %v; want memory: ... ErrClosed", op, err)
		}
	}
}

func TestCloseWithCleanupDisabled(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Options{CleanupInterval: -1})
	s.Close()
	s.Close()
	if _, _, err := s.Load(context.Background(), "a"); !errors.Is(err, sessionstore.ErrClosed) {
		t.Errorf("Load after Close: %v; want ErrClosed", err)
	}
}

// cleanupGoroutines counts the goroutines running a store's cleanup loop.
func cleanupGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "memory.(*table).janitor(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitGoroutines waits until cleanupGoroutines reports want, calling
// between checks (the runtime ends a returning goroutine asynchronously).
func waitGoroutines(t *testing.T, want int, between func()) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for cleanupGoroutines() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d cleanup goroutines running; want %d", cleanupGoroutines(), want)
		}
		between()
	}
}

// Not parallel: it counts the goroutines of every store in the process.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := cleanupGoroutines()
	s := memory.New(memory.Options{CleanupInterval: time.Millisecond})
	waitGoroutines(t, before+1, runtime.Gosched)
	mustSave(t, s, "a", []byte("x"), time.Now().Add(time.Hour))
	s.Close()
	waitGoroutines(t, before, runtime.Gosched)

	// No goroutine at all when cleanup is disabled.
	s = memory.New(memory.Options{CleanupInterval: -1})
	if got := cleanupGoroutines(); got != before {
		t.Errorf("with cleanup disabled, %d cleanup goroutines; want %d", got, before)
	}
	s.Close()
}

// Not parallel: it counts the goroutines of every store in the process.
func TestUnclosedStoreStopsGoroutineWhenCollected(t *testing.T) {
	before := cleanupGoroutines()
	func() {
		s := memory.New(memory.Options{})
		mustSave(t, s, "a", []byte("x"), time.Now().Add(time.Hour))
		waitGoroutines(t, before+1, runtime.Gosched)
	}()
	waitGoroutines(t, before, func() { runtime.GC(); time.Sleep(time.Millisecond) })
}

func TestCleanupRemovesExpired(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{CleanupInterval: time.Millisecond, Now: clk.Now})
	for i := range 1000 {
		exp := clk.After(time.Minute)
		if i%10 == 0 {
			exp = clk.After(time.Hour)
		}
		mustSave(t, s, fmt.Sprint(i), []byte("x"), exp)
	}
	clk.Advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for s.Held() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("store still holds %d records; want the 100 live ones", s.Held())
		}
		time.Sleep(time.Millisecond)
	}
	if n, _ := s.Count(context.Background()); n != 100 {
		t.Errorf("Count = %d; want 100", n)
	}
}

func TestIterateMayCallStore(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{Now: clk.Now})
	ctx := context.Background()
	want := map[string]string{}
	for i := range 300 {
		id := fmt.Sprint("id", i)
		mustSave(t, s, id, []byte(id), clk.After(time.Hour))
		want[id] = id
	}
	mustSave(t, s, "expired", []byte("x"), clk.After(time.Second))
	clk.Advance(time.Second)

	got := map[string]string{}
	err := s.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		got[id] = string(rec.Data)
		if rec.Version == 0 || !rec.Expiry.Equal(clk.After(time.Hour-time.Second)) {
			t.Errorf("%s: version %d expiry %v", id, rec.Version, rec.Expiry)
		}
		copy(rec.Data, "zz") // the caller's copy
		// Would deadlock if Iterate held a shard lock.
		if err := s.Delete(ctx, id); err != nil {
			t.Error(err)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Iterate visited %d records; want the %d live ones", len(got), len(want))
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Errorf("after deleting every visited id, Count = %d", n)
	}
}

func TestIterateStopsWhenFnReturnsFalse(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	for i := range 100 {
		mustSave(t, s, fmt.Sprint(i), nil, time.Now().Add(time.Hour))
	}
	visits := 0
	err := s.Iterate(context.Background(), func(string, sessionstore.Record) bool {
		visits++
		return visits < 3
	})
	if err != nil || visits != 3 {
		t.Errorf("Iterate = %v after %d visits; want nil after 3", err, visits)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{CleanupInterval: time.Millisecond, MaxSessions: 500})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				id := fmt.Sprint(i % 700)
				exp := time.Now().Add(time.Duration(i%3) * time.Millisecond)
				switch (g + i) % 6 {
				case 0:
					if err := s.Save(ctx, id, []byte(id), exp); err != nil && !errors.Is(err, sessionstore.ErrFull) {
						t.Error(err)
					}
				case 1:
					if rec, ok, err := s.Load(ctx, id); err != nil || ok && string(rec.Data) != id {
						t.Errorf("Load(%q) = %q, %v", id, rec.Data, err)
					}
				case 2:
					s.Delete(ctx, id)
				case 3:
					s.Touch(ctx, id, exp)
				case 4:
					if _, err := s.CompareAndSwap(ctx, id, 0, []byte(id), exp); err != nil && !errors.Is(err, sessionstore.ErrFull) {
						t.Error(err)
					}
				case 5:
					if i%100 == 0 {
						s.Count(ctx)
						s.Iterate(ctx, func(string, sessionstore.Record) bool { return true })
					}
				}
			}
		})
	}
	wg.Wait()
	if h := s.Held(); h > 500 {
		t.Errorf("store holds %d records; cap is 500", h)
	}
}

func TestCompareAndSwapOneWinner(t *testing.T) {
	t.Parallel()
	s := newStore(t, memory.Options{})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	mustSave(t, s, "a", []byte("0"), exp)
	for round := range 50 {
		rec, _ := mustLoad(t, s, "a")
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := s.CompareAndSwap(ctx, "a", rec.Version, []byte(fmt.Sprint(round)), exp)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners; want exactly 1", round, wins.Load())
		}
	}
}

// TestIterateRechecksExpiryAfterCopy checks that a record which expires
// while Iterate is calling fn, at exactly the clock's time, is not visited:
// Iterate copies a shard's live records, then checks each again before
// calling fn, as fn may be slow.
func TestIterateRechecksExpiryAfterCopy(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{Now: clk.Now})
	exp := clk.After(time.Second)
	// Enough records that some shard holds several, which one copy takes.
	for i := range 256 {
		mustSave(t, s, fmt.Sprint("id ", i), []byte("x"), exp)
	}
	visits := 0
	err := s.Iterate(context.Background(), func(string, sessionstore.Record) bool {
		visits++
		clk.Advance(exp.Sub(clk.Now())) // now is exactly every record's expiry
		return true
	})
	if err != nil || visits != 1 {
		t.Errorf("Iterate = %v after %d visits; want 1 visit: the others expired at the first", err, visits)
	}
}

// TestNoTornReads checks that a Load running beside Saves that overwrite a
// record returns one whole write, for small and big data and for small data
// following big. The race detector sees a torn read too; without it the
// bytes show it.
func TestNoTornReads(t *testing.T) {
	t.Parallel()
	const limit = 8 << 10
	for _, sizes := range [][]int{{limit, limit}, {2 * limit, 2 * limit}, {2 * limit, limit, limit}} {
		t.Run(fmt.Sprint(sizes, " bytes"), func(t *testing.T) {
			s := newStore(t, memory.Options{})
			ctx := context.Background()
			var writes [][]byte
			for i, size := range sizes {
				writes = append(writes, bytes.Repeat([]byte{byte('a' + i)}, size))
			}
			whole := func(data []byte) bool {
				for _, w := range writes {
					if bytes.Equal(data, w) {
						return true
					}
				}
				return false
			}
			expiry := time.Now().Add(time.Hour)
			mustSave(t, s, "id", writes[0], expiry)
			stop := time.Now().Add(300 * time.Millisecond)
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 0; time.Now().Before(stop); i++ {
					if err := s.Save(ctx, "id", writes[i%len(writes)], expiry); err != nil {
						t.Errorf("Save = %v", err)
						return
					}
				}
			})
			for range 4 {
				wg.Go(func() {
					for time.Now().Before(stop) {
						rec, _, err := s.Load(ctx, "id")
						if err != nil {
							t.Errorf("Load = %v", err)
							return
						}
						if !whole(rec.Data) {
							t.Errorf("Load returned %d bytes mixing writes: %d a's, %d b's, %d c's", len(rec.Data),
								bytes.Count(rec.Data, []byte{'a'}), bytes.Count(rec.Data, []byte{'b'}), bytes.Count(rec.Data, []byte{'c'}))
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestFullStoreSaveAtNow checks that on a full store, a Save of a new id
// whose expiry is exactly now stores nothing and succeeds, as a Save of an
// expiry in the past does: the record would be gone at once, so it needs no
// room.
func TestFullStoreSaveAtNow(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newStore(t, memory.Options{MaxSessions: 1, CleanupInterval: -1, Now: clk.Now})
	mustSave(t, s, "live", []byte("x"), clk.After(time.Hour))
	for _, exp := range []time.Time{clk.Now(), clk.After(-time.Second)} {
		if err := s.Save(context.Background(), "new", []byte("y"), exp); err != nil {
			t.Errorf("Save of a new id expiring at %v on a full store = %v; want nil", exp, err)
		}
	}
	if _, ok := mustLoad(t, s, "live"); !ok {
		t.Error("the live record is gone")
	}
}
