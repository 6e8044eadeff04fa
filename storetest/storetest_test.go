package storetest

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReference runs the suite, through the exported entry point, against
// the reference store, which keeps every rule.
func TestReference(t *testing.T) {
	t.Parallel()
	Run(t, refHarness(noFault, noDeadFault))
}

// brokenStores lists a store breaking one rule each, and the subtest that
// must catch it. Other subtests may fail too.
var brokenStores = []struct {
	name  string
	fault fault
	dead  fault
	want  string
}{
	{"returns expired data", faultReturnsExpired, 0,
		"Load/expired id is not found with nil error"},
	{"ignores an expiry in the past on Save", faultIgnoresPastExpiry, 0,
		"Save/expiry in the past removes the record"},
	{"expires records early", faultExpiresEarly, 0,
		"Expiry/saved to expire in 2 s is found at 1 s and gone at 3 s"},
	{"loses the expiry", faultExpiryLost, 0,
		"Load/returns the saved data and expiry"},
	{"fails to delete a missing id", faultDeleteMissingFails, 0,
		"Delete/missing id is not an error"},
	{"ignores a cancelled context", faultIgnoresContext, 0,
		"Context/Load with a cancelled context fails with context.Canceled"},
	{"ignores an expired deadline", faultIgnoresContext, 0,
		"Context/CompareAndSwap with an expired deadline fails with context.DeadlineExceeded"},
	{"shares one table between stores", faultSharedTable, 0,
		"Isolation/a record saved in one store is not found in the other"},
	{"keeps the caller's slice", faultKeepsCallerSlice, 0,
		"Save/the caller may reuse the data slice after Save"},
	{"keeps the caller's slice on CompareAndSwap", faultKeepsCallerSlice, 0,
		"CompareAndSwap/the caller may reuse the data slice after CompareAndSwap"},
	{"returns its own slice", faultReturnsOwnSlice, 0,
		"Load/returned data is the caller's"},
	{"accepts oversize data", faultAcceptsOversize, 0,
		"Save/data over MaxDataSize fails with ErrTooLarge and keeps the previous record"},
	{"accepts oversize data on CompareAndSwap", faultAcceptsOversize, 0,
		"CompareAndSwap/data over MaxDataSize fails with ErrTooLarge and writes nothing"},
	{"loses the record on oversize data", faultOversizeLosesRecord, 0,
		"Save/data over MaxDataSize fails with ErrTooLarge and keeps the previous record"},
	{"rejects a NUL byte in an id", faultRejectsOddIDs, 0,
		"IDs/NUL byte id works with every method"},
	{"rejects non-UTF-8 ids", faultRejectsOddIDs, 0,
		"IDs/non-UTF-8 id works with every method"},
	{"escapes ids naively", faultNaiveEscaping, 0,
		"IDs/ids that collide after naive escaping are stored apart: colon and its hex escape"},
	{"escapes spaces naively", faultNaiveEscaping, 0,
		"IDs/ids that collide after naive escaping are stored apart: space and underscore"},
	{"cuts ids to 250 bytes", faultCutsLongIDs, 0,
		"IDs/ids that collide after naive escaping are stored apart: 256 bytes and their first 250"},
	{"accepts an empty id", faultNoIDCheck, 0,
		"IDs/empty id fails with ErrInvalidID on every method"},
	{"accepts a 257-byte id", faultNoIDCheck, 0,
		"IDs/257-byte id fails with ErrInvalidID on every method"},
	{"does not wrap ErrInvalidID", faultIDErrorUnwrapped, 0,
		"IDs/empty id fails with ErrInvalidID on every method"},
	{"checks and sets a swap apart", faultRacyCompareAndSwap, 0,
		"CompareAndSwap/exactly one of 32 racers wins, round after round"},
	{"keeps the version on Save", faultSaveKeepsVersion, 0,
		"CompareAndSwap/a plain Save changes the version so an older swap fails"},
	{"loads version 0", faultZeroVersion, 0,
		"CompareAndSwap/loaded versions are non-zero"},
	{"swaps version 0 only over no record at all", faultSwapZeroSeesExpired, 0,
		"CompareAndSwap/version 0 writes over an expired record"},
	{"creates records on Touch", faultTouchCreates, 0,
		"Touch/missing id reports false with nil error and creates nothing"},
	{"iterates expired records", faultIterateExpired, 0,
		"Iterate/skips expired records"},
	{"iterates on after fn returns false", faultIterateIgnoresStop, 0,
		"Iterate/stops when fn returns false"},
	{"ignores the context during a walk", faultIterateIgnoresContext, 0,
		"Iterate/returns the context's error when the context ends during the walk"},
	{"counts expired records", faultCountExpired, 0,
		"Count/excludes expired records"},
	{"panics on a second Close", faultCloseTwicePanics, 0,
		"Close/calling Close twice is safe"},
	{"panics after Close", faultPanicsAfterClose, 0,
		"Close/after Close, calls keep working or fail with ErrClosed"},
	{"reports found on an unreachable database", noFault, faultDeadFound,
		"Unreachable/Load fails within the deadline and never reports found"},
	{"hides an unreachable database", noFault, faultDeadSilent,
		"Unreachable/Save fails within the deadline"},
	{"ignores the deadline on an unreachable database", noFault, faultDeadHangs,
		"Unreachable/Delete fails within the deadline"},
	{"overwrites bytes LoadShared handed out", faultOverwritesInPlace, 0,
		"Shared/bytes LoadShared returned are never changed by later saves"},
	{"overwrites bytes handed to SaveShared", faultOverwritesInPlace, 0,
		"Shared/bytes handed to SaveShared are never changed by later saves"},
}

// TestRecorded runs the suite under a recorder against the reference store,
// which must pass every subtest and skip none, and against each broken
// store, which must fail the subtest of the rule it breaks. The runs go
// concurrently: most of each is waiting for the clock.
func TestRecorded(t *testing.T) {
	t.Parallel()
	type faults struct{ fault, dead fault }
	runs := map[faults]*record{{noFault, noDeadFault}: nil}
	for _, c := range brokenStores {
		runs[faults{c.fault, c.dead}] = nil
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for f := range runs {
		wg.Go(func() {
			rec := runRecorded(t, func(t tester) { run(t, refHarness(f.fault, f.dead)) })
			mu.Lock()
			defer mu.Unlock()
			runs[f] = rec
		})
	}
	wg.Wait()
	t.Logf("%d runs of the suite in %v", len(runs), time.Since(start))

	t.Run("reference store passes every subtest and skips none", func(t *testing.T) {
		rec := runs[faults{noFault, noDeadFault}]
		if failed := rec.failedLeaves(); len(failed) > 0 {
			t.Errorf("the reference store failed %d subtests:\n%s", len(failed), rec.report())
		}
		if skipped := rec.skipped(); len(skipped) > 0 {
			t.Errorf("subtests skipped on the reference store: %q", skipped)
		}
		if n := len(rec.leaves()); n < 100 {
			t.Errorf("the suite ran %d subtests; want more than 100", n)
		}
		if testing.Verbose() {
			t.Logf("%d subtests:\n%s", len(rec.leaves()), strings.Join(rec.leaves(), "\n"))
		}
	})
	for _, c := range brokenStores {
		t.Run("catches a store that "+c.name, func(t *testing.T) {
			rec := runs[faults{c.fault, c.dead}]
			failed := rec.failedLeaves()
			if !slices.Contains(failed, c.want) {
				t.Errorf("the suite did not fail %q; it failed %d subtests:\n%s", c.want, len(failed), rec.report())
			}
		})
	}
}

// BenchmarkReference runs the exported benchmarks on the reference store:
// one mutex over a map, the floor a real store is compared with.
func BenchmarkReference(b *testing.B) {
	RunBenchmarks(b, refHarness(noFault, noDeadFault))
}
