package storetest

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// Harness describes a Store under test.
type Harness struct {
	// NewStore returns a new, empty Store. Every call returns a store isolated
	// from all the others (its own prefix / table / collection) on the same
	// server: the suite calls it twice to check that two stores never see each
	// other's records. Register cleanup with t.Cleanup (Close the store, drop
	// the table, ...).
	//
	// The suite calls NewStore at the start of nearly every subtest, before
	// the subtest goes parallel, so it should be cheap; it is not called by two
	// goroutines at once.
	NewStore func(t testing.TB) sessionstore.Store

	// MaxDataSize is the store's documented maximum data size in bytes. The
	// suite saves exactly MaxDataSize bytes (must round-trip) and
	// MaxDataSize+1 (must fail with ErrTooLarge, the previous record intact).
	// 0 means "no maximum": the suite then round-trips 512 KiB and skips
	// nothing else.
	MaxDataSize int

	// ExpiryPrecision is how late past its expiry a record may still be
	// returned (0: exact, for stores that check expiry themselves; memcached:
	// 1 s). It may not exceed 1 s: rule 9 (gone 1 s after the expiry) holds on
	// every store.
	ExpiryPrecision time.Duration

	// NewUnreachableStore, when set, returns a store configured against a
	// database that does not answer (a closed port); the suite checks rule 8
	// with it.
	NewUnreachableStore func(t testing.TB) sessionstore.Store

	// NewNamedStore, when set, returns a new, empty store configured under
	// name the way a user names a store: its key prefix, table or collection
	// is made from name, after a part of the harness's own that is the same
	// for every name of one run (so that runs on one server stay apart).
	// Names are 1 to 80 bytes of ASCII letters, digits, '_', ':' and '-'.
	// The suite gives it pairs that careless stores mix up (names differing
	// only in case, in a separator, or past the 63rd byte, where PostgreSQL
	// cuts identifiers) and checks that the two stores never see each
	// other's records. It returns nil for a name the store refuses (as the
	// PostgreSQL store refuses a table name longer than 63 bytes): refusing
	// a name is as safe as keeping it apart. Without it those Isolation
	// subtests are skipped.
	NewNamedStore func(t testing.TB, name string) sessionstore.Store

	// NestedNames reports that two stores stay apart even when the name of
	// one is a prefix of the other's ("a" and "ab": a table or collection
	// per name, or keys that end the prefix unambiguously). The suite then
	// also tries such pairs, with ids that make prefix+id the same key
	// ("a"+"bX" and "ab"+"X"). Leave it false for a store that forms keys as
	// prefix+id and documents that neither prefix may be a prefix of the
	// other.
	NestedNames bool

	// OpenAgain, when set, returns another Store over the same data as st,
	// a store NewStore returned: what another process configured alike
	// opens (another client of the same server, prefix, table or
	// collection), or the same program after a restart. The suite calls it
	// while st is open, and after st was closed, then checks that versions,
	// CompareAndSwap, Iterate and Count agree across the handles and that a
	// call on a closed store that returned nil did what it says. It returns
	// nil where the data does not outlive st (a memory store after Close):
	// the checks across a restart are then skipped. Without it the
	// SecondHandle group is skipped.
	OpenAgain func(t testing.TB, st sessionstore.Store) sessionstore.Store
}

// Run runs every contract rule as a named subtest, then the subtests of every
// optional capability (Toucher, Swapper, Iterator, Counter, io.Closer) the
// store implements.
func Run(t *testing.T, h Harness) {
	t.Helper()
	run(testingT{t}, h)
}

// tester is the part of *testing.T the suite uses: all of testing.TB, so it
// can be handed to Harness.NewStore, plus Parallel and a Run whose subtests
// get a tester. *testing.T fits through testingT; the suite's own tests run it
// under a recorder instead, to see which subtest a broken store fails.
type tester interface {
	testing.TB
	Parallel()
	Run(name string, f func(t tester)) bool
}

// testingT adapts *testing.T to tester.
type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(t tester)) bool {
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// tb returns what the harness constructors receive: the *testing.T itself
// when there is one, so that they see the type they expect.
func tb(t tester) testing.TB {
	if tt, ok := t.(testingT); ok {
		return tt.T
	}
	return t
}

// Durations of the checks that wait for the clock.
const (
	// shortLife is the lifetime of records the suite waits to see expire.
	shortLife = 300 * time.Millisecond
	// clockSlack is how long after an expiry (plus ExpiryPrecision) the
	// suite checks that a record is gone, and how long before it a Load must
	// have returned to show a record dropped early: room for a database that
	// keeps milliseconds and a clock read a little apart from the test's,
	// yet tight enough that a store returning records more than 10 ms stale
	// fails.
	clockSlack = 10 * time.Millisecond
	// nearExpiry is how long before a record's expiry the suite checks that
	// it is still found: a store dropping records 30 ms early fails.
	nearExpiry = 30 * time.Millisecond
	// longLife is the lifetime of records that must stay live during a test.
	longLife = time.Hour
	// promptly bounds a call that must return at once (a context that
	// already ended, a closed store): generous, for loaded machines, yet
	// catching a call that waits for a network timeout.
	promptly = 5 * time.Second
)

// suite holds what every check shares.
type suite struct {
	h Harness
	// probe is a store made once to learn which capabilities the store under
	// test implements, so that their subtests are registered up front.
	probe *store
	// only, when set, picks the subtests to run by name.
	only func(name string) bool
	// restartable reports that Harness.OpenAgain opens the data of a store
	// again after it was closed.
	restartable bool
	// bytes are what the random sequences write, made once.
	bytes []byte
	// mu keeps the harness's constructors from running twice at once when
	// checks that went parallel make stores.
	mu sync.Mutex
}

// skip reports whether the subtest called name is left out of this run.
func (s *suite) skip(name string) bool { return s.only != nil && !s.only(name) }

// store is a Store under test with its optional capabilities, each nil when
// the store does not implement it.
type store struct {
	sessionstore.Store
	toucher  sessionstore.Toucher
	swapper  sessionstore.Swapper
	iterator sessionstore.Iterator
	counter  sessionstore.Counter
	closer   io.Closer
}

func newStore(st sessionstore.Store) *store {
	s := &store{Store: st}
	s.toucher, _ = st.(sessionstore.Toucher)
	s.swapper, _ = st.(sessionstore.Swapper)
	s.iterator, _ = st.(sessionstore.Iterator)
	s.counter, _ = st.(sessionstore.Counter)
	s.closer, _ = st.(io.Closer)
	return s
}

// countable reports whether the number of records can be read back.
func (st *store) countable() bool { return st.counter != nil || st.iterator != nil }

func run(t tester, h Harness) { runOnly(t, h, nil) }

// runOnly is run, limited to the subtests whose names ("Group/check") only
// accepts; nil accepts all. The suite's own tests use it to run only the
// subtests a broken store must fail.
func runOnly(t tester, h Harness, only func(name string) bool) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatalf("storetest: Harness.NewStore is nil")
	}
	s := &suite{h: h, only: only}
	s.probe = s.newStore(t)
	if h.OpenAgain != nil {
		st := s.newStore(t)
		if st.closer != nil {
			st.closer.Close()
		}
		s.restartable = h.OpenAgain(tb(t), st.Store) != nil
	}

	// The rules of the contract in the docs of package sessionstore: the
	// Store methods, then the rules every method keeps.
	s.group(t, "Load", s.loadChecks())
	s.group(t, "Save", s.saveChecks())
	s.group(t, "Delete", s.deleteChecks())
	s.group(t, "Context", s.contextChecks())
	s.group(t, "IDs", s.idChecks())
	s.group(t, "Isolation", s.isolationChecks())
	s.group(t, "Concurrency", s.concurrencyChecks())
	s.unreachable(t)
	// These two wait for the clock most: they run beside each other, once
	// the groups above and below are done.
	s.clockGroup(t, "Expiry", s.expiryChecks())
	s.clockGroup(t, "Model", s.modelChecks())

	// The optional capabilities.
	p := s.probe
	s.capability(t, "Touch", "sessionstore.Toucher", p.toucher != nil, s.touchChecks())
	s.capability(t, "CompareAndSwap", "sessionstore.Swapper", p.swapper != nil, s.swapChecks())
	s.capability(t, "Iterate", "sessionstore.Iterator", p.iterator != nil, s.iterateChecks())
	s.capability(t, "Count", "sessionstore.Counter or sessionstore.Iterator", p.countable(), s.countChecks())
	s.capability(t, "Close", "io.Closer", p.closer != nil, s.closeChecks())
	s.capability(t, "SecondHandle", "Harness.OpenAgain", h.OpenAgain != nil, s.handleChecks())
}

// newStore returns a fresh store from the harness.
func (s *suite) newStore(t tester) *store {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.h.NewStore(tb(t))
	if st == nil {
		t.Fatalf("Harness.NewStore returned nil")
	}
	return newStore(st)
}

// check is one subtest: a sentence of the contract, and the code that tests
// it on a fresh, empty store.
type check struct {
	name string
	// clock marks checks that wait for records to expire. They run in
	// parallel with the other clock checks of their group, so the waits
	// overlap.
	clock bool
	run   func(t tester, st *store)
}

// group runs checks as the subtests of a subtest called name; not at all
// when the run leaves out every one of them.
func (s *suite) group(t tester, name string, checks []check) {
	if !s.anyRun(name, checks) {
		return
	}
	t.Run(name, func(t tester) { s.runChecks(t, name, checks) })
}

// clockGroup is group for a group that mostly waits for the clock: it goes
// parallel, so that it runs beside the other clock groups once the rest of
// the suite is done.
func (s *suite) clockGroup(t tester, name string, checks []check) {
	if !s.anyRun(name, checks) {
		return
	}
	t.Run(name, func(t tester) {
		t.Parallel()
		s.runChecks(t, name, checks)
	})
}

// anyRun reports whether the run keeps at least one of a group's checks.
func (s *suite) anyRun(group string, checks []check) bool {
	for _, c := range checks {
		if !s.skip(group + "/" + c.name) {
			return true
		}
	}
	return false
}

// capability is group for an optional capability: skipped, saying so, when
// the store does not implement it.
func (s *suite) capability(t tester, name, iface string, has bool, checks []check) {
	if !s.anyRun(name, checks) {
		return
	}
	t.Run(name, func(t tester) {
		if !has {
			t.Skipf("the store does not implement %s", iface)
		}
		s.runChecks(t, name, checks)
	})
}

func (s *suite) runChecks(t tester, group string, checks []check) {
	for _, c := range checks {
		if s.skip(group + "/" + c.name) {
			continue
		}
		t.Run(c.name, func(t tester) {
			st := s.newStore(t) // before Parallel: NewStore never runs twice at once
			if c.clock {
				t.Parallel()
			}
			c.run(t, st)
		})
	}
}

// The helpers below stop the subtest (Fatalf) when a step that the check
// builds on fails, and report (Errorf) when the property checked fails.

// save saves and stops the subtest if that fails.
func (s *suite) save(t tester, st *store, id string, data []byte, expiry time.Time) {
	t.Helper()
	if err := st.Save(t.Context(), id, data, expiry); err != nil {
		t.Fatalf("Save(%s, %d bytes) = %v", quote(id), len(data), err)
	}
}

// load loads and stops the subtest if that fails.
func (s *suite) load(t tester, st *store, id string) (sessionstore.Record, bool) {
	t.Helper()
	rec, found, err := st.Load(t.Context(), id)
	if err != nil {
		t.Fatalf("Load(%s) = %v", quote(id), err)
	}
	return rec, found
}

// mustLoad loads a record that must be there.
func (s *suite) mustLoad(t tester, st *store, id string) sessionstore.Record {
	t.Helper()
	rec, found := s.load(t, st, id)
	if !found {
		t.Fatalf("Load(%s) = not found; want the record saved before", quote(id))
	}
	return rec
}

// wantRecord reports unless id holds data and expiry.
func (s *suite) wantRecord(t tester, st *store, id string, data []byte, expiry time.Time) {
	t.Helper()
	rec, found, err := st.Load(t.Context(), id)
	switch {
	case err != nil:
		t.Errorf("Load(%s) = %v; want the record", quote(id), err)
	case !found:
		t.Errorf("Load(%s) = not found; want the record (%d bytes, expiry %v)", quote(id), len(data), expiry)
	default:
		if !bytes.Equal(rec.Data, data) {
			t.Errorf("Load(%s).Data = %s; want %s", quote(id), describe(rec.Data), describe(data))
		}
		if !s.sameExpiry(rec.Expiry, expiry) {
			t.Errorf("Load(%s).Expiry = %v; want %v", quote(id), rec.Expiry, expiry)
		}
	}
}

// wantGone reports unless Load of id finds nothing, with a nil error.
func (s *suite) wantGone(t tester, st *store, id string) {
	t.Helper()
	rec, found, err := st.Load(t.Context(), id)
	switch {
	case err != nil:
		t.Errorf("Load(%s) = %v; want not found with a nil error", quote(id), err)
	case found:
		t.Errorf("Load(%s) found %s expiring %v (now %v); want not found",
			quote(id), describe(rec.Data), rec.Expiry, time.Now())
	}
}

// wantCount reports unless every way the store has of counting its live
// records (Counter.Count, sessionstore.Count, Iterate) says n.
func (s *suite) wantCount(t tester, st *store, n int) {
	t.Helper()
	ctx := t.Context()
	if st.counter != nil {
		if got, err := st.counter.Count(ctx); err != nil || got != n {
			t.Errorf("Count() = %d, %v; want %d, nil", got, err, n)
		}
	}
	if got, err := sessionstore.Count(ctx, st.Store); err != nil || got != n {
		t.Errorf("sessionstore.Count() = %d, %v; want %d, nil", got, err, n)
	}
	if st.iterator != nil {
		got := 0
		err := st.iterator.Iterate(ctx, func(string, sessionstore.Record) bool { got++; return true })
		if err != nil || got != n {
			t.Errorf("Iterate visited %d records, error %v; want %d, nil", got, err, n)
		}
	}
}

// sameExpiry reports whether a loaded expiry matches the one saved, within
// the store's precision (at least a millisecond: databases keep
// milliseconds or microseconds).
func (s *suite) sameExpiry(got, want time.Time) bool {
	d := got.Sub(want).Abs()
	return d <= max(s.h.ExpiryPrecision, time.Millisecond)
}

// goneAt is when a record expiring at expiry must be gone on this store.
func (s *suite) goneAt(expiry time.Time) time.Time {
	return expiry.Add(s.h.ExpiryPrecision + clockSlack)
}

// sleepUntil waits for the clock, or stops the subtest when its context ends.
func sleepUntil(t tester, when time.Time) {
	t.Helper()
	timer := time.NewTimer(time.Until(when))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.Context().Done():
		t.Fatalf("test ended while waiting for the clock: %v", t.Context().Err())
	}
}

// shortLives are the lifetimes beforeExpiry tries for a short-lived record.
// The last is for a machine so loaded that a round trip to the database
// takes over 50 ms three times running (seen once with PostgreSQL while CI
// ran every package's tests at once on 2 cores).
var shortLives = []time.Duration{shortLife, 2 * shortLife, 4 * shortLife, 8 * shortLife}

// beforeExpiry runs steps that must happen while a record saved to live for
// life is still live. steps returns false when this machine was too slow for
// it to tell (a step ended after the expiry); it is then retried with the
// next of lives, so that a loaded machine does not fail a correct store.
func beforeExpiry(t tester, lives []time.Duration, steps func(life time.Duration) (inTime bool)) {
	t.Helper()
	for i, life := range lives {
		if steps(life) {
			return
		}
		t.Logf("attempt %d: the steps did not fit in a %v lifetime on this machine", i+1, life)
	}
	t.Errorf("the steps never fit in the record's lifetime in %d attempts", len(lives))
}

// within runs f in its own goroutine and reports whether it returned within
// limit without panicking; when it did not, it reports why. f must not call
// t.Fatalf. A call that never returns is left behind.
func within(t tester, limit time.Duration, what string, f func()) bool {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		returned := false
		defer func() {
			if !returned {
				done <- fmt.Sprintf("panic: %v", recover())
			}
		}()
		f()
		returned = true
		done <- nil
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case p := <-done:
		if p != nil {
			t.Errorf("%s: %v", what, p)
			return false
		}
		return true
	case <-timer.C:
		t.Errorf("%s did not return within %v", what, limit)
		return false
	}
}

// payload returns n bytes that differ with seed, so that a record read under
// the wrong id is noticed.
func payload(seed string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(seed))
	x := h.Sum64() | 1
	b := make([]byte, n)
	for i := range b {
		// xorshift64: cheap bytes that look random and never repeat a short cycle.
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// allBytes returns every byte value, upwards then downwards.
func allBytes() []byte {
	b := make([]byte, 512)
	for i := range 256 {
		b[i] = byte(i)
		b[511-i] = byte(i)
	}
	return b
}

// describe shortens data for a failure message.
func describe(data []byte) string {
	if data == nil {
		return "nil"
	}
	if len(data) <= 16 {
		return fmt.Sprintf("%d bytes %q", len(data), data)
	}
	return fmt.Sprintf("%d bytes %q…", len(data), data[:16])
}

// quote prints an id for a failure message, shortened when long.
func quote(id string) string {
	if len(id) <= 40 {
		return fmt.Sprintf("%q", id)
	}
	return fmt.Sprintf("%q… (%d bytes)", id[:32], len(id))
}

// ctxEnded returns a context that was cancelled before the call and the
// error a store must wrap.
func ctxEnded(t tester, cancelled bool) (context.Context, error) {
	if cancelled {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx, context.Canceled
	}
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	return ctx, context.DeadlineExceeded
}
