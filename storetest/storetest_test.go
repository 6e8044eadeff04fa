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
		"CompareAndSwap/version 0 writes over an expired record, with a new version"},
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
		"Close/after Close, calls keep working or fail with ErrClosed, and one that returned nil did its work"},
	{"reports found on an unreachable database", noFault, faultDeadFound,
		"Unreachable/Load fails within the deadline and never reports found"},
	{"hides an unreachable database", noFault, faultDeadSilent,
		"Unreachable/Save fails within the deadline"},
	{"ignores the deadline on an unreachable database", noFault, faultDeadHangs,
		"Unreachable/Delete fails within the deadline"},

	// The gaps of issue 13, each a bug the suite once let through.
	{"returns records 150 ms past their expiry", faultStaleLoad, 0,
		"Expiry/saved to expire in 300ms is found 30ms before and gone 10ms after"},
	{"returns a record 150 ms past its expiry on Load", faultStaleLoad, 0,
		"Load/expired id is not found with nil error"},
	{"drops records 70 ms before their expiry", faultDropsEarly, 0,
		"Expiry/saved to expire in 300ms is found 30ms before and gone 10ms after"},
	{"drops records 70 ms before an expiry moved earlier", faultDropsEarly, 0,
		"Touch/moves the expiry earlier, for Load and Count"},
	{"compares expiries in whole seconds", faultSecondsBoundary, 0,
		"Save/expiry of now removes the record"},
	{"reads a zero expiry as never", faultZeroExpiryNever, 0,
		"Save/zero expiry removes the record: it is long past, not \"never\""},
	{"reads a zero expiry as never on a new id", faultZeroExpiryNever, 0,
		"Save/zero expiry on a new id stores nothing"},
	{"reads a zero expiry as never on Touch", faultZeroExpiryNever, 0,
		"Touch/zero expiry reports true and removes the record"},
	{"reads a zero expiry as never on CompareAndSwap", faultZeroExpiryNever, 0,
		"CompareAndSwap/zero expiry leaves the id gone"},
	{"overflows an expiry after 2262", faultFarFutureGone, 0,
		"Save/expiry after 2262 keeps the record"},
	{"overflows an expiry after 2262 on Touch", faultFarFutureGone, 0,
		"Touch/expiry after 2262 keeps the record"},
	{"overflows an expiry after 2262 on CompareAndSwap", faultFarFutureGone, 0,
		"CompareAndSwap/expiry after 2262 keeps the record"},
	{"keeps the caller's slice over 8 KiB", faultKeepsBigCallerSlice, 0,
		"Save/the caller may reuse the data slice after Save at 16 KiB"},
	{"keeps the caller's slice over 8 KiB on CompareAndSwap", faultKeepsBigCallerSlice, 0,
		"CompareAndSwap/the caller may reuse the data slice after CompareAndSwap at 16 KiB"},
	{"returns its own slice over 8 KiB", faultReturnsOwnBigSlice, 0,
		"Load/returned data is the caller's at 16 KiB"},
	{"tears big records read during a Save", faultTornBigRead, 0,
		"Concurrency/Save, Load and Delete in parallel on shared ids"},
	{"checks the context only once a record is found, on Load", faultContextAfterLookup, 0,
		"Context/Load of a missing id with a cancelled context fails with context.Canceled"},
	{"checks the context only once a record is found, on Save", faultContextAfterLookup, 0,
		"Context/Save of a missing id with a cancelled context fails with context.Canceled"},
	{"checks the context only once a record is found, on Iterate", faultContextAfterLookup, 0,
		"Context/Iterate with a cancelled context fails with context.Canceled on an empty store"},
	{"checks the context only once a record is found, on Count", faultContextAfterLookup, 0,
		"Context/Count with a cancelled context fails with context.Canceled on an empty store"},
	{"keeps a:b under a_b", faultColonToUnderscore, 0,
		"IDs/ids that collide after naive escaping are stored apart: colon and underscore"},
	{"cuts ids to 255 bytes", faultCutsIDsTo255, 0,
		"IDs/ids that collide after naive escaping are stored apart: 256 bytes and their first 255"},
	{"counts the id length in characters", faultCountsRunes, 0,
		"IDs/258-byte multi-byte id fails with ErrInvalidID on every method"},
	{"folds the case of store names", faultFoldsNames, 0,
		"Isolation/stores named apart are apart: Sessions and sessions"},
	{"turns ':' into '_' in store names", faultFoldsNames, 0,
		"Isolation/stores named apart are apart: x:y and x_y"},
	{"cuts store names to 63 bytes", faultCutsNamesTo63, 0,
		"Isolation/stores named apart are apart: 70 bytes alike then 1 or 2"},
	{"keeps name+id in one table", faultConcatenatesNames, 0,
		"Isolation/stores with nested names are apart: a+bX and ab+X"},
	{"deletes on a swap into the past whatever the version", faultSwapDeleteAnyVersion, 0,
		"CompareAndSwap/a conditional delete with a stale version leaves the record as it was"},
	{"deletes on a swap into the past with version 0", faultSwapDeleteAnyVersion, 0,
		"CompareAndSwap/a conditional delete with version 0 leaves a live record as it was"},
	{"swaps over the version of an expired record", faultSwapMatchesExpired, 0,
		"CompareAndSwap/the version of an expired record writes nothing"},
	{"restarts versions after a delete", faultVersionsRestart, 0,
		"CompareAndSwap/the version of a deleted record writes nothing over its recreation"},
	{"restarts versions after an expiry", faultVersionsRestart, 0,
		"CompareAndSwap/the version of an expired record writes nothing over its recreation"},
	{"gives two ids the same versions", faultVersionsRestart, 0,
		"CompareAndSwap/the version of another live id writes nothing"},
	{"lets any greater version win", faultGreaterVersionWins, 0,
		"CompareAndSwap/a version near the loaded one writes nothing: one more, one less, the largest"},
	{"checks and sets a swap under two holds of its lock", faultRacyNoSleep, 0,
		"CompareAndSwap/exactly one racer wins on each of 32 ids at once, round after round"},
	{"reports false when a Touch into the past removes the record", faultTouchPastReportsFalse, 0,
		"Touch/expiry in the past reports true and removes the record"},
	{"reports false on a Touch to the same expiry", faultTouchSameReportsFalse, 0,
		"Touch/the expiry the record already has reports true and keeps it"},
	{"counts by the expiry saved, not the touched one", faultCountMissesTouch, 0,
		"Touch/moves the expiry earlier, for Load and Count"},
	{"iterates without expiry and version", faultIterateDropsMeta, 0,
		"Iterate/visits exactly the live records with their data and ids as saved"},
	{"skips records with empty data on Iterate", faultIterateSkipsEmpty, 0,
		"Iterate/visits exactly the live records with their data and ids as saved"},
	{"skips records with empty data on Count", faultIterateSkipsEmpty, 0,
		"Count/counts the live records"},
	{"drops writes after Close while answering nil", faultClosedDropsWrites, 0,
		"Close/after Close, calls keep working or fail with ErrClosed, and one that returned nil did its work"},
	{"leaves its goroutine running after Close", faultLeaksGoroutine, 0,
		"Close/after Close, no goroutine the store started is left"},
	{"removes an expired record it met after a new one was saved", faultRemovesExpiredRacily, 0,
		"Concurrency/a record saved while others load its expired predecessor stays"},
	{"reports a deadline passing during a Load as a closed connection", faultLosesDeadlineMidCall, 0,
		"Context/Load failing as its deadline passes during the call wraps context.DeadlineExceeded"},
	{"answers 1.2 s after the deadline on an unreachable database", noFault, faultDeadSlow,
		"Unreachable/Load fails within the deadline and never reports found"},
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
	// A broken store runs only the subtests that must catch it.
	wants := make(map[faults][]string)
	for _, c := range brokenStores {
		f := faults{c.fault, c.dead}
		wants[f] = append(wants[f], c.want)
	}
	// The keys first: the runs write their records while others start.
	var all []faults
	for f := range runs {
		all = append(all, f)
	}
	for _, f := range all {
		var only func(string) bool
		if w, broken := wants[f]; broken {
			only = func(name string) bool { return slices.Contains(w, name) }
		}
		wg.Go(func() {
			rec := runRecorded(t, func(t tester) { runOnly(t, refHarness(f.fault, f.dead), only) })
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
			f := faults{c.fault, c.dead}
			rec := runs[f]
			failed := rec.failedLeaves()
			// A race store needs two goroutines truly at once; with sixty
			// suites sharing a busy machine's cores it may have had none.
			// Alone it must be caught within three more runs.
			for retry := 0; retry < 3 && !slices.Contains(failed, c.want); retry++ {
				w := wants[f]
				rec = runRecorded(t, func(t tester) {
					runOnly(t, refHarness(f.fault, f.dead), func(name string) bool { return slices.Contains(w, name) })
				})
				failed = rec.failedLeaves()
			}
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
