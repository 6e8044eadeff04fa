package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionstore/sessionstore"
)

// The optional capabilities: Toucher, Swapper, Iterator, Counter and
// io.Closer. Their checks run only on a store that implements them.

// touchChecks follow the doc of Toucher.Touch.
func (s *suite) touchChecks() []check {
	checks := []check{
		{name: "live id reports true and moves the expiry", run: s.touchLive},
		{name: "keeps the data", run: s.touchKeepsData},
		{name: "missing id reports false with nil error and creates nothing", run: s.touchMissing},
		{name: "deleted id reports false and creates nothing", run: s.touchDeleted},
		{name: "expired id reports false and creates nothing", clock: true, run: s.touchExpired},
		{name: "moves the expiry later", clock: true, run: s.touchLater},
		{name: "moves the expiry earlier, for Load and Count", clock: true, run: s.touchEarlier},
		{name: "expiry in the past reports true and removes the record", run: s.touchPast},
		{name: "zero expiry reports true and removes the record", run: s.touchZero},
		{name: "the expiry the record already has reports true and keeps it", run: s.touchSame},
		{name: "expiry after 2262 keeps the record", run: s.touchFarFuture},
		{name: "expiries at MaxExpiry, a nanosecond either side and past the year 9999 keep the record", run: s.touchEdgeExpiries},
		{name: "expiry in the past on a missing id reports false", run: s.touchPastMissing},
		{name: "does not reach another store's record", run: s.touchIsolated},
	}
	if s.probe.swapper != nil {
		checks = append(checks, check{name: "a record removed by a conditional delete reports false and creates nothing", run: s.touchSwapDeleted})
	}
	if s.probe.swapper != nil {
		checks = append(checks, check{name: "the version loaded after Touch still swaps", run: s.touchThenSwap})
	}
	return checks
}

// touch touches and stops the subtest if that fails.
func (s *suite) touch(t tester, st *store, id string, expiry time.Time) bool {
	t.Helper()
	found, err := st.toucher.Touch(t.Context(), id, expiry)
	if err != nil {
		t.Fatalf("Touch(%s) = %v", quote(id), err)
	}
	return found
}

func (s *suite) touchLive(t tester, st *store) {
	saved := time.Now().Add(longLife)
	s.save(t, st, "id", payload("id", 30), saved)
	touched := saved.Add(longLife)
	if !s.touch(t, st, "id", touched) {
		t.Errorf("Touch of a live id = false; want true")
	}
	// A store that cannot read back a touched expiry (memcached) reports
	// the saved one, as the doc of Record.Expiry allows.
	if rec := s.mustLoad(t, st, "id"); !s.sameExpiry(rec.Expiry, touched) && !s.sameExpiry(rec.Expiry, saved) {
		t.Errorf("Load.Expiry after Touch = %v; want %v (or the saved %v)", rec.Expiry, touched, saved)
	}
}

func (s *suite) touchKeepsData(t tester, st *store) {
	data := payload("kept", 70)
	s.save(t, st, "id", data, time.Now().Add(longLife))
	s.touch(t, st, "id", time.Now().Add(2*longLife))
	if rec := s.mustLoad(t, st, "id"); !bytes.Equal(rec.Data, data) {
		t.Errorf("Load.Data after Touch = %s; want %s", describe(rec.Data), describe(data))
	}
}

// wantTouchCreatesNothing touches id, which must not be live.
func (s *suite) wantTouchCreatesNothing(t tester, st *store, id string) {
	t.Helper()
	if s.touch(t, st, id, time.Now().Add(longLife)) {
		t.Errorf("Touch(%s) = true; want false for an id with no live record", quote(id))
	}
	s.wantGone(t, st, id)
}

func (s *suite) touchMissing(t tester, st *store) {
	s.wantTouchCreatesNothing(t, st, "never-saved")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

func (s *suite) touchDeleted(t tester, st *store) {
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "id"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantTouchCreatesNothing(t, st, "id")
}

func (s *suite) touchExpired(t tester, st *store) {
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "id", payload("id", 30), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantTouchCreatesNothing(t, st, "id")
}

func (s *suite) touchLater(t tester, st *store) {
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		id := fmt.Sprintf("lives %v", life)
		data, first := payload(id, 30), time.Now().Add(life)
		s.save(t, st, id, data, first)
		later := time.Now().Add(longLife)
		found := s.touch(t, st, id, later)
		if time.Now().After(first) {
			return false
		}
		if !found {
			t.Errorf("Touch of a live id = false; want true")
		}
		sleepUntil(t, s.goneAt(first))
		// The expiry is not compared: memcached reports the saved one.
		if rec, found := s.load(t, st, id); !found || !bytes.Equal(rec.Data, data) {
			t.Errorf("Load after the first expiry = %s, found %v; want the touched record %s",
				describe(rec.Data), found, describe(data))
		}
		return true
	})
}

func (s *suite) touchEarlier(t tester, st *store) {
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		id := fmt.Sprintf("lives %v", life)
		data := payload(id, 30)
		s.save(t, st, id, data, time.Now().Add(longLife))
		expiry := time.Now().Add(life)
		if !s.touch(t, st, id, expiry) {
			t.Errorf("Touch of a live id = false; want true")
		}
		if !s.foundNear(t, st, id, data, life, expiry) {
			return false
		}
		sleepUntil(t, s.goneAt(expiry))
		s.wantGone(t, st, id)
		if st.countable() {
			s.wantCount(t, st, 0)
		}
		return true
	})
}

// wantTouchRemoves touches a live record to expiry, at or before now.
func (s *suite) wantTouchRemoves(t tester, st *store, expiry time.Time) {
	t.Helper()
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	if !s.touch(t, st, "id", expiry) {
		t.Errorf("Touch of a live id to %v = false; want true: the record was live", expiry)
	}
	s.wantGone(t, st, "id")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

func (s *suite) touchPast(t tester, st *store) {
	s.wantTouchRemoves(t, st, time.Now().Add(-time.Minute))
}

func (s *suite) touchZero(t tester, st *store) {
	s.wantTouchRemoves(t, st, time.Time{})
}

func (s *suite) touchSame(t tester, st *store) {
	data, expiry := payload("id", 30), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	for i := range 2 {
		if !s.touch(t, st, "id", expiry) {
			t.Errorf("Touch #%d to the expiry the record has = false; want true", i+1)
		}
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) touchFarFuture(t tester, st *store) {
	data := payload("far", 30)
	s.save(t, st, "id", data, time.Now().Add(longLife))
	if !s.touch(t, st, "id", farFuture) {
		t.Errorf("Touch of a live id to %v = false; want true", farFuture)
	}
	rec, found := s.load(t, st, "id")
	if !found || !bytes.Equal(rec.Data, data) {
		t.Errorf("Load after Touch to %v = %s, found %v; want %s", farFuture, describe(rec.Data), found, describe(data))
	}
}

func (s *suite) touchEdgeExpiries(t tester, st *store) {
	for _, e := range edgeExpiries {
		data := payload(e.label, 20)
		s.save(t, st, e.label, data, time.Now().Add(longLife))
		if !s.touch(t, st, e.label, e.expiry) {
			t.Errorf("Touch of a live id to %s = false; want true", e.label)
		}
		rec, found := s.load(t, st, e.label)
		if !found || !bytes.Equal(rec.Data, data) {
			t.Errorf("Load after Touch to %s = %s, found %v; want %s", e.label, describe(rec.Data), found, describe(data))
		}
	}
}

func (s *suite) touchPastMissing(t tester, st *store) {
	for _, past := range []time.Time{time.Now().Add(-time.Minute), {}} {
		if s.touch(t, st, "never-saved", past) {
			t.Errorf("Touch of a missing id to %v = true; want false: no record existed", past)
		}
	}
}

func (s *suite) touchIsolated(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, a, "shared", payload("a", 30), time.Now().Add(longLife))
	s.wantTouchCreatesNothing(t, b, "shared")
}

// touchSwapDeleted touches a record a conditional delete removed: a store
// that leaves a tombstone row must not take it for a live record.
func (s *suite) touchSwapDeleted(t tester, st *store) {
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	if !s.cas(t, st, "id", s.version(t, st, "id"), nil, time.Now().Add(-time.Minute)) {
		t.Fatalf("CompareAndSwap over the loaded version into the past = false; want true")
	}
	s.wantTouchCreatesNothing(t, st, "id")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

func (s *suite) touchThenSwap(t tester, st *store) {
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	s.touch(t, st, "id", time.Now().Add(2*longLife))
	rec := s.mustLoad(t, st, "id")
	data, expiry := payload("swapped", 30), time.Now().Add(longLife)
	if ok, err := st.swapper.CompareAndSwap(t.Context(), "id", rec.Version, data, expiry); err != nil || !ok {
		t.Errorf("CompareAndSwap over the version loaded after Touch = %v, %v; want true, nil", ok, err)
	}
	s.wantRecord(t, st, "id", data, expiry)
}

// swapChecks follow the docs of Swapper and Record.Version.
func (s *suite) swapChecks() []check {
	return []check{
		{name: "loaded versions are non-zero", run: s.swapNonZero},
		{name: "version 0 writes only when no live record exists", run: s.swapZero},
		{name: "version 0 writes over a deleted record", run: s.swapZeroDeleted},
		{name: "version 0 writes over an expired record, with a new version", clock: true, run: s.swapZeroExpired},
		{name: "version 0 writes over a record saved with an expiry in the past", run: s.swapZeroPast},
		{name: "the loaded version writes data and expiry and changes the version", run: s.swapLoaded},
		{name: "a stale version reports false with nil error and writes nothing", run: s.swapStale},
		{name: "a plain Save changes the version so an older swap fails", run: s.swapAfterSave},
		{name: "a non-zero version on a missing id reports false and creates nothing", run: s.swapMissing},
		{name: "a version near the loaded one writes nothing: one more, one less, the largest", run: s.swapOtherVersions},
		{name: "the version of another live id writes nothing", run: s.swapOtherID},
		{name: "the version of a deleted record writes nothing over its recreation", run: s.swapABA},
		{name: "the version of an expired record writes nothing", clock: true, run: s.swapExpiredVersion},
		{name: "the version of an expired record writes nothing over its recreation", clock: true, run: s.swapExpiredABA},
		{name: fmt.Sprintf("exactly one of %d racers wins, round after round", racers), run: s.swapRace},
		{name: fmt.Sprintf("exactly one racer wins on each of %d ids at once, round after round", raceIDs), run: s.swapRaceIDs},
		{name: "data over MaxDataSize fails with ErrTooLarge and writes nothing", run: s.swapTooLarge},
		{name: "the caller may reuse the data slice after CompareAndSwap", run: func(t tester, st *store) { s.swapNoAlias(t, st, 64) }},
		{name: fmt.Sprintf("the caller may reuse the data slice after CompareAndSwap at %d KiB", bigRecordSize>>10), run: func(t tester, st *store) { s.swapNoAlias(t, st, bigRecordSize) }},
		{name: "expiry in the past leaves the id gone", run: s.swapPast},
		{name: "zero expiry leaves the id gone", run: s.swapZeroTime},
		{name: "a conditional delete with a stale version leaves the record as it was", run: s.swapDeleteStale},
		{name: "a conditional delete with version 0 leaves a live record as it was", run: s.swapDeleteZero},
		{name: "a conditional delete with version 0 of an id with no live record reports true", run: s.swapDeleteZeroMissing},
		{name: "the data already stored, swapped, gets a new version", run: s.swapSameData},
		{name: "expiry after 2262 keeps the record", run: s.swapFarFuture},
		{name: "expiries at MaxExpiry, a nanosecond either side and past the year 9999 keep the record", run: s.swapEdgeExpiries},
		{name: "data of MaxDataSize and empty data round-trip", run: s.swapSizes},
		{name: "a losing swap of data over MaxDataSize fails with ErrTooLarge too", run: s.swapTooLargeLosing},
		{name: "version 0 ignores another store's record", run: s.swapIsolated},
	}
}

// cas swaps and stops the subtest if that fails.
func (s *suite) cas(t tester, st *store, id string, version uint64, data []byte, expiry time.Time) bool {
	t.Helper()
	ok, err := st.swapper.CompareAndSwap(t.Context(), id, version, data, expiry)
	if err != nil {
		t.Fatalf("CompareAndSwap(%s, version %d) = %v", quote(id), version, err)
	}
	return ok
}

// shortLivedVersion saves data under id to expire shortly and returns the
// version Load then reports, and the expiry. When this machine was too slow
// to load the record before it expired, it tries again with a longer life
// (seen once: PostgreSQL at a load average of 14 on 2 cores); a record not
// found while it is still live fails the subtest.
func (s *suite) shortLivedVersion(t tester, st *store, id string, data []byte) (version uint64, expiry time.Time) {
	t.Helper()
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		expiry = time.Now().Add(life)
		s.save(t, st, id, data, expiry)
		rec, found := s.load(t, st, id)
		if time.Now().After(expiry) {
			return false
		}
		if !found {
			t.Fatalf("Load(%s) = not found; want the record saved before", quote(id))
		}
		if rec.Version == 0 {
			t.Fatalf("Load(%s).Version = 0; want non-zero from a sessionstore.Swapper", quote(id))
		}
		version = rec.Version
		return true
	})
	if version == 0 {
		t.FailNow()
	}
	return version, expiry
}

// version loads id, which must be live, and returns its version.
func (s *suite) version(t tester, st *store, id string) uint64 {
	t.Helper()
	rec := s.mustLoad(t, st, id)
	if rec.Version == 0 {
		t.Fatalf("Load(%s).Version = 0; want non-zero from a sessionstore.Swapper", quote(id))
	}
	return rec.Version
}

func (s *suite) swapNonZero(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	s.save(t, st, "saved", payload("saved", 10), expiry)
	if !s.cas(t, st, "swapped", 0, payload("swapped", 10), expiry) {
		t.Fatalf("CompareAndSwap with version 0 of a new id = false; want true")
	}
	for _, id := range []string{"saved", "swapped"} {
		if rec := s.mustLoad(t, st, id); rec.Version == 0 {
			t.Errorf("Load(%q).Version = 0; want non-zero", id)
		}
	}
}

func (s *suite) swapZero(t tester, st *store) {
	data, expiry := payload("first", 10), time.Now().Add(longLife)
	if !s.cas(t, st, "id", 0, data, expiry) {
		t.Errorf("CompareAndSwap with version 0 of a missing id = false; want true")
	}
	s.wantRecord(t, st, "id", data, expiry)
	if s.cas(t, st, "id", 0, payload("second", 10), time.Now().Add(2*longLife)) {
		t.Errorf("CompareAndSwap with version 0 over a live record = true; want false")
	}
	s.wantRecord(t, st, "id", data, expiry)
}

// wantSwapZero checks that version 0 writes to id, which holds no live
// record.
func (s *suite) wantSwapZero(t tester, st *store, id string) {
	t.Helper()
	data, expiry := payload("new", 10), time.Now().Add(longLife)
	if !s.cas(t, st, id, 0, data, expiry) {
		t.Errorf("CompareAndSwap(%s) with version 0 = false; want true where no live record exists", quote(id))
	}
	s.wantRecord(t, st, id, data, expiry)
}

func (s *suite) swapZeroDeleted(t tester, st *store) {
	s.save(t, st, "id", payload("old", 10), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "id"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantSwapZero(t, st, "id")
}

// swapZeroExpired swaps version 0 over a record that expired: it writes, and
// the record it writes has a new version, over which the expired record's
// version does not swap (a store that updates the expired row in place may
// keep its version).
func (s *suite) swapZeroExpired(t tester, st *store) {
	old, expiry := s.shortLivedVersion(t, st, "id", payload("old", 10))
	sleepUntil(t, s.goneAt(expiry))
	s.wantSwapZero(t, st, "id")
	if v := s.version(t, st, "id"); v == old {
		t.Errorf("Version of the record version 0 wrote over an expired one = %d, the expired record's; want a new version", v)
	}
	s.wantNoSwap(t, st, "id", old, "the version of the expired record", payload("new", 10), s.mustLoad(t, st, "id").Expiry)
}

func (s *suite) swapZeroPast(t tester, st *store) {
	s.save(t, st, "id", payload("old", 10), time.Now().Add(longLife))
	s.save(t, st, "id", payload("old", 10), time.Now().Add(-time.Minute))
	s.wantSwapZero(t, st, "id")
}

func (s *suite) swapLoaded(t tester, st *store) {
	s.save(t, st, "id", payload("old", 10), time.Now().Add(longLife))
	old := s.version(t, st, "id")
	data, expiry := payload("new", 20), time.Now().Add(2*longLife)
	if !s.cas(t, st, "id", old, data, expiry) {
		t.Fatalf("CompareAndSwap over the loaded version = false; want true")
	}
	s.wantRecord(t, st, "id", data, expiry)
	if v := s.version(t, st, "id"); v == old {
		t.Errorf("Version after CompareAndSwap = %d, unchanged; want a new version", v)
	}
}

func (s *suite) swapStale(t tester, st *store) {
	s.save(t, st, "id", payload("old", 10), time.Now().Add(longLife))
	stale := s.version(t, st, "id")
	data, expiry := payload("new", 20), time.Now().Add(2*longLife)
	if !s.cas(t, st, "id", stale, data, expiry) {
		t.Fatalf("CompareAndSwap over the loaded version = false; want true")
	}
	if s.cas(t, st, "id", stale, payload("lost", 20), time.Now().Add(3*longLife)) {
		t.Errorf("CompareAndSwap over a stale version = true; want false")
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) swapAfterSave(t tester, st *store) {
	// The same data twice: a version must count writes, not hash content.
	data, expiry := payload("same", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	old := s.version(t, st, "id")
	s.save(t, st, "id", data, expiry)
	if v := s.version(t, st, "id"); v == old {
		t.Errorf("Version after a second Save = %d, unchanged; want a new version", v)
	}
	if s.cas(t, st, "id", old, payload("lost", 10), time.Now().Add(2*longLife)) {
		t.Errorf("CompareAndSwap over the version read before a Save = true; want false")
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) swapMissing(t tester, st *store) {
	// A version the store could have issued: one from another record.
	s.save(t, st, "other", payload("other", 10), time.Now().Add(longLife))
	v := s.version(t, st, "other")
	if s.cas(t, st, "missing", v, payload("new", 10), time.Now().Add(longLife)) {
		t.Errorf("CompareAndSwap(version %d) of a missing id = true; want false", v)
	}
	s.wantGone(t, st, "missing")
}

// The compare-and-swap races. A store that checks the version and writes
// in two steps lets every racer that checks before the first write win;
// racers released at once by one barrier, on many ids at a time and round
// after round, make that show in every run, not one in two.
const (
	// racers race on one id, raceRounds times.
	racers     = 32
	raceRounds = 16
	// raceIDs ids are raced at once, by idRacers each, for idRaceRounds
	// rounds or as many more, up to idRaceMaxRounds, as fit in raceBudget:
	// a store whose check and write are a network round trip apart fails
	// in the first rounds, one whose check and write are two holds of one
	// lock needs thousands of swaps to show it, which a fast store allows.
	raceIDs         = 32
	idRacers        = 8
	idRaceRounds    = 4
	idRaceMaxRounds = 64
	raceBudget      = time.Second
	// raceBigSize is the size of the data of the odd rounds.
	raceBigSize = 32 << 10
)

func (s *suite) swapRace(t tester, st *store) {
	s.race(t, st, 1, racers, raceRounds, raceRounds)
}

func (s *suite) swapRaceIDs(t tester, st *store) {
	s.race(t, st, raceIDs, idRacers, idRaceRounds, idRaceMaxRounds)
}

// race runs rounds in which perID racers on each of ids swap over the
// version of the round before (0 in the first, which creates the records),
// all released at once. Exactly one racer per id must win each round, its
// data stored and a new version issued. It runs minRounds, then more up to
// maxRounds while within raceBudget.
func (s *suite) race(t tester, st *store, ids, perID, minRounds, maxRounds int) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	versions := make([]uint64, ids)
	began := time.Now()
	for round := 0; round < minRounds || (round < maxRounds && time.Since(began) < raceBudget); round++ {
		start := make(chan struct{})
		wins := make([]atomic.Int32, ids)
		winner := make([]atomic.Int32, ids)
		var wg sync.WaitGroup
		for i := range ids {
			id := fmt.Sprint("race ", i)
			for r := range perID {
				wg.Go(func() {
					<-start
					ok, err := st.swapper.CompareAndSwap(ctx, id, versions[i], raceData(round, r), expiry)
					if err != nil {
						t.Errorf("round %d: CompareAndSwap(%q) = %v", round, id, err)
					}
					if ok {
						wins[i].Add(1)
						winner[i].Store(int32(r))
					}
				})
			}
		}
		close(start)
		wg.Wait()
		for i := range ids {
			id := fmt.Sprint("race ", i)
			if n := wins[i].Load(); n != 1 {
				t.Fatalf("round %d: %d of %d racers swapped %q over version %d; want exactly 1", round, n, perID, id, versions[i])
			}
			rec := s.mustLoad(t, st, id)
			if want := raceData(round, int(winner[i].Load())); !bytes.Equal(rec.Data, want) {
				t.Fatalf("round %d: Load(%q).Data = %s; want the winner's %s", round, id, describe(rec.Data), describe(want))
			}
			if rec.Version == versions[i] || rec.Version == 0 {
				t.Fatalf("round %d: Version of %q after the winning swap = %d; want new and non-zero", round, id, rec.Version)
			}
			versions[i] = rec.Version
		}
	}
}

// raceData is what racer writes in round: small in even rounds, big in odd
// ones, where a store copying the data between its check and its write
// holds the door open longer.
func raceData(round, racer int) []byte {
	b := fmt.Appendf(nil, "round %d racer %d", round, racer)
	if round%2 == 1 {
		b = append(b, make([]byte, raceBigSize)...)
	}
	return b
}

func (s *suite) swapTooLarge(t tester, st *store) {
	if s.h.MaxDataSize == 0 {
		t.Skipf("Harness.MaxDataSize is 0: the store has no maximum")
	}
	data, expiry := payload("kept", 100), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	v := s.version(t, st, "id")
	big := payload("big", s.h.MaxDataSize+1)
	ok, err := st.swapper.CompareAndSwap(t.Context(), "id", v, big, time.Now().Add(2*longLife))
	if !errors.Is(err, sessionstore.ErrTooLarge) || ok {
		t.Errorf("CompareAndSwap of %d bytes = %v, %v; want false and an error wrapping ErrTooLarge", len(big), ok, err)
	}
	s.wantRecord(t, st, "id", data, expiry)
	ok, err = st.swapper.CompareAndSwap(t.Context(), "new", 0, big, time.Now().Add(longLife))
	if !errors.Is(err, sessionstore.ErrTooLarge) || ok {
		t.Errorf("CompareAndSwap of %d bytes to a new id = %v, %v; want false and an error wrapping ErrTooLarge", len(big), ok, err)
	}
	s.wantGone(t, st, "new")
}

func (s *suite) swapNoAlias(t tester, st *store, size int) {
	data, expiry := payload("reused", size), time.Now().Add(longLife)
	buf := bytes.Clone(data)
	if !s.cas(t, st, "id", 0, buf, expiry) {
		t.Fatalf("CompareAndSwap with version 0 of a new id = false; want true")
	}
	for i := range buf {
		buf[i] = 0xee
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) swapPast(t tester, st *store) {
	s.wantSwapRemoves(t, st, time.Now().Add(-time.Minute))
}

func (s *suite) swapZeroTime(t tester, st *store) {
	s.wantSwapRemoves(t, st, time.Time{})
}

// wantSwapRemoves swaps a live record over its version with expiry, at or
// before now: a conditional delete that wins.
func (s *suite) wantSwapRemoves(t tester, st *store, expiry time.Time) {
	t.Helper()
	s.save(t, st, "id", payload("live", 10), time.Now().Add(longLife))
	if !s.cas(t, st, "id", s.version(t, st, "id"), payload("gone", 10), expiry) {
		t.Errorf("CompareAndSwap over the loaded version to %v = false; want true", expiry)
	}
	s.wantGone(t, st, "id")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

func (s *suite) swapDeleteStale(t tester, st *store) {
	s.save(t, st, "id", payload("old", 10), time.Now().Add(longLife))
	stale := s.version(t, st, "id")
	data, expiry := payload("new", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	for _, past := range []time.Time{time.Now().Add(-time.Minute), {}} {
		if s.cas(t, st, "id", stale, nil, past) {
			t.Errorf("CompareAndSwap to %v over a stale version = true; want false", past)
		}
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) swapDeleteZero(t tester, st *store) {
	data, expiry := payload("live", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	if s.cas(t, st, "id", 0, nil, time.Now().Add(-time.Minute)) {
		t.Errorf("CompareAndSwap with version 0 and an expiry in the past over a live record = true; want false")
	}
	s.wantRecord(t, st, "id", data, expiry)
}

// swapDeleteZeroMissing deletes, with version 0, ids with no live record:
// the condition "no live record" holds, so the swap wins, and the id is
// gone, as asked (the Manager's owner index counts on the answer).
func (s *suite) swapDeleteZeroMissing(t tester, st *store) {
	s.save(t, st, "deleted", payload("deleted", 10), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "deleted"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	for _, id := range []string{"never-saved", "deleted"} {
		for _, past := range []time.Time{time.Now().Add(-time.Minute), {}} {
			if !s.cas(t, st, id, 0, nil, past) {
				t.Errorf("CompareAndSwap(%q) with version 0 and expiry %v, no live record = false; want true", id, past)
			}
			s.wantGone(t, st, id)
		}
	}
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

// swapSameData swaps in the data the record holds: a version counts writes,
// so it changes, and the version read before no longer swaps.
func (s *suite) swapSameData(t tester, st *store) {
	data, expiry := payload("same", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	old := s.version(t, st, "id")
	if !s.cas(t, st, "id", old, data, expiry) {
		t.Fatalf("CompareAndSwap over the loaded version = false; want true")
	}
	if v := s.version(t, st, "id"); v == old {
		t.Errorf("Version after swapping in the same data = %d, unchanged; want a new version", v)
	}
	s.wantNoSwap(t, st, "id", old, "the version read before a swap of the same data", data, expiry)
}

func (s *suite) swapFarFuture(t tester, st *store) {
	data := payload("far", 10)
	if !s.cas(t, st, "id", 0, data, farFuture) {
		t.Fatalf("CompareAndSwap with version 0 of a new id = false; want true")
	}
	s.wantFarFuture(t, st, "id", data)
	v := s.version(t, st, "id")
	data = payload("farther", 10)
	if !s.cas(t, st, "id", v, data, farFuture) {
		t.Fatalf("CompareAndSwap over the loaded version of a record expiring in %v = false; want true", farFuture)
	}
	s.wantFarFuture(t, st, "id", data)
}

func (s *suite) swapEdgeExpiries(t tester, st *store) {
	for _, e := range edgeExpiries {
		data := payload(e.label, 20)
		if !s.cas(t, st, e.label, 0, data, e.expiry) {
			t.Errorf("CompareAndSwap with version 0 of a new id, expiry %s = false; want true", e.label)
			continue
		}
		s.wantEdgeExpiry(t, st, e.label, data, e.expiry)
	}
}

func (s *suite) swapSizes(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	for _, data := range [][]byte{payload("max", s.maxSize()), {}} {
		s.save(t, st, "id", payload("before", 10), expiry)
		if !s.cas(t, st, "id", s.version(t, st, "id"), data, expiry) {
			t.Fatalf("CompareAndSwap of %d bytes over the loaded version = false; want true", len(data))
		}
		s.wantRecord(t, st, "id", data, expiry)
	}
}

// swapTooLargeLosing swaps oversized data over a version that would lose:
// the size is checked before anything is sent, so the answer is ErrTooLarge
// all the same.
func (s *suite) swapTooLargeLosing(t tester, st *store) {
	if s.h.MaxDataSize == 0 {
		t.Skipf("Harness.MaxDataSize is 0: the store has no maximum")
	}
	data, expiry := payload("kept", 100), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	big := payload("big", s.h.MaxDataSize+1)
	for _, v := range []uint64{0, s.version(t, st, "id") + 1} {
		ok, err := st.swapper.CompareAndSwap(t.Context(), "id", v, big, expiry)
		if ok || !errors.Is(err, sessionstore.ErrTooLarge) {
			t.Errorf("CompareAndSwap of %d bytes over version %d, which would lose = %v, %v; want false and an error wrapping ErrTooLarge", len(big), v, ok, err)
		}
	}
	s.wantRecord(t, st, "id", data, expiry)
}

// wantNoSwap checks that a swap of id over version writes nothing: id keeps
// data and expiry.
func (s *suite) wantNoSwap(t tester, st *store, id string, version uint64, why string, data []byte, expiry time.Time) {
	t.Helper()
	if s.cas(t, st, id, version, payload("lost", 10), time.Now().Add(2*longLife)) {
		t.Errorf("CompareAndSwap(%s) over %s (%d) = true; want false", quote(id), why, version)
	}
	s.wantRecord(t, st, id, data, expiry)
}

func (s *suite) swapOtherVersions(t tester, st *store) {
	data, expiry := payload("live", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	v := s.version(t, st, "id")
	s.wantNoSwap(t, st, "id", v+1, "the loaded version plus one", data, expiry)
	if v > 1 {
		s.wantNoSwap(t, st, "id", v-1, "the loaded version minus one", data, expiry)
	}
	if v != math.MaxUint64 {
		s.wantNoSwap(t, st, "id", math.MaxUint64, "the largest version", data, expiry)
	}
}

func (s *suite) swapOtherID(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	s.save(t, st, "a", payload("a", 10), expiry)
	s.save(t, st, "b", payload("b", 10), expiry)
	s.wantNoSwap(t, st, "b", s.version(t, st, "a"), "the version of another id", payload("b", 10), expiry)
}

func (s *suite) swapABA(t tester, st *store) {
	s.save(t, st, "id", payload("first", 10), time.Now().Add(longLife))
	old := s.version(t, st, "id")
	if err := st.Delete(t.Context(), "id"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	data, expiry := payload("first", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	s.wantNoSwap(t, st, "id", old, "the version of the deleted record", data, expiry)
	if err := st.Delete(t.Context(), "id"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if !s.cas(t, st, "id", 0, data, expiry) {
		t.Fatalf("CompareAndSwap with version 0 of a deleted id = false; want true")
	}
	s.wantNoSwap(t, st, "id", old, "the version of the deleted record", data, expiry)
}

func (s *suite) swapExpiredVersion(t tester, st *store) {
	old, expiry := s.shortLivedVersion(t, st, "id", payload("old", 10))
	sleepUntil(t, s.goneAt(expiry))
	if s.cas(t, st, "id", old, payload("new", 10), time.Now().Add(longLife)) {
		t.Errorf("CompareAndSwap over the version of an expired record = true; want false")
	}
	s.wantGone(t, st, "id")
}

func (s *suite) swapExpiredABA(t tester, st *store) {
	old, expiry := s.shortLivedVersion(t, st, "id", payload("first", 10))
	sleepUntil(t, s.goneAt(expiry))
	data, expiry := payload("first", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	s.wantNoSwap(t, st, "id", old, "the version of the expired record", data, expiry)
}

func (s *suite) swapIsolated(t tester, a *store) {
	b := s.newStore(t)
	data, expiry := payload("a", 10), time.Now().Add(longLife)
	s.save(t, a, "shared", data, expiry)
	s.wantSwapZero(t, b, "shared")
	s.wantRecord(t, a, "shared", data, expiry)
}

// iterateChecks follow the doc of Iterator.Iterate.
func (s *suite) iterateChecks() []check {
	return []check{
		{name: "empty store visits nothing", run: s.iterateEmpty},
		{name: "visits exactly the live records with their data and ids as saved", run: s.iterateLive},
		{name: "skips expired records", clock: true, run: s.iterateExpired},
		{name: "stops when fn returns false", run: s.iterateStop},
		{name: "fn may call the store: deleting each visited record revokes them all", run: s.iterateDeleting},
		{name: "returns the context's error when the context ends during the walk", run: s.iterateCancelled},
		{name: "does not visit another store's records", run: s.iterateIsolated},
	}
}

// visit iterates and returns every record visited by id; it reports an id
// visited twice.
func (s *suite) visit(t tester, st *store) map[string]sessionstore.Record {
	t.Helper()
	seen := make(map[string]sessionstore.Record)
	err := st.iterator.Iterate(t.Context(), func(id string, rec sessionstore.Record) bool {
		if _, dup := seen[id]; dup {
			t.Errorf("Iterate visited %s twice", quote(id))
		}
		seen[id] = rec
		return true
	})
	if err != nil {
		t.Fatalf("Iterate = %v", err)
	}
	return seen
}

// wantVisits reports unless Iterate visits exactly the ids of want, each
// with its data, and with the expiry and version Load reports.
func (s *suite) wantVisits(t tester, st *store, want map[string][]byte) {
	t.Helper()
	seen := s.visit(t, st)
	for id, data := range want {
		rec, ok := seen[id]
		switch {
		case !ok:
			t.Errorf("Iterate did not visit %s", quote(id))
		case !bytes.Equal(rec.Data, data):
			t.Errorf("Iterate gave %s the data %s; want %s", quote(id), describe(rec.Data), describe(data))
		default:
			loaded := s.mustLoad(t, st, id)
			if !s.sameExpiry(rec.Expiry, loaded.Expiry) {
				t.Errorf("Iterate gave %s the expiry %v; Load reports %v", quote(id), rec.Expiry, loaded.Expiry)
			}
			if rec.Version != loaded.Version {
				t.Errorf("Iterate gave %s the version %d; Load reports %d", quote(id), rec.Version, loaded.Version)
			}
		}
	}
	for id := range seen {
		if _, ok := want[id]; !ok {
			t.Errorf("Iterate visited %s, which is not a live record of this store", quote(id))
		}
	}
}

func (s *suite) iterateEmpty(t tester, st *store) {
	s.wantVisits(t, st, nil)
}

func (s *suite) iterateLive(t tester, st *store) {
	want := make(map[string][]byte)
	expiry := time.Now().Add(longLife)
	s.save(t, st, "empty", nil, expiry)
	want["empty"] = []byte{}
	for i, c := range oddIDs {
		data := payload(c.id, 20)
		s.save(t, st, c.id, data, expiry)
		switch i % 3 {
		case 0:
			want[c.id] = data
		case 1:
			if err := st.Delete(t.Context(), c.id); err != nil {
				t.Fatalf("Delete(%s) = %v", quote(c.id), err)
			}
		case 2:
			s.save(t, st, c.id, data, time.Now().Add(-time.Minute))
		}
	}
	s.wantVisits(t, st, want)
}

func (s *suite) iterateExpired(t tester, st *store) {
	live := payload("live", 20)
	s.save(t, st, "live", live, time.Now().Add(longLife))
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "expiring", payload("expiring", 20), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantVisits(t, st, map[string][]byte{"live": live})
}

func (s *suite) iterateStop(t tester, st *store) {
	s.fillForWalk(t, st)
	calls := 0
	err := st.iterator.Iterate(t.Context(), func(string, sessionstore.Record) bool {
		calls++
		return calls < 3
	})
	if err != nil || calls != 3 {
		t.Errorf("Iterate with fn returning false on the 3rd call: %d calls, %v; want 3 calls, nil", calls, err)
	}
}

// iterateDeleting revokes every session from within fn, as an administrator
// does: a store that holds a lock while calling fn deadlocks here.
func (s *suite) iterateDeleting(t tester, st *store) {
	s.fillForWalk(t, st)
	var err error
	walk := func() {
		err = st.iterator.Iterate(t.Context(), func(id string, _ sessionstore.Record) bool {
			if derr := st.Delete(t.Context(), id); derr != nil {
				t.Errorf("Delete(%s) from within Iterate = %v", quote(id), derr)
			}
			return true
		})
	}
	if !within(t, promptly, "Iterate deleting each visited record", walk) {
		return
	}
	if err != nil {
		t.Errorf("Iterate = %v", err)
	}
	s.wantCount(t, st, 0)
}

func (s *suite) iterateCancelled(t tester, st *store) {
	s.fillForWalk(t, st)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := st.iterator.Iterate(ctx, func(string, sessionstore.Record) bool {
		cancel()
		return true
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Iterate with the context cancelled in the first fn call = %v; want an error wrapping context.Canceled", err)
	}
}

// walkRecords is how many records the walking checks save.
const walkRecords = 10

func (s *suite) fillForWalk(t tester, st *store) {
	t.Helper()
	expiry := time.Now().Add(longLife)
	for i := range walkRecords {
		s.save(t, st, fmt.Sprint("id ", i), payload(fmt.Sprint(i), 10), expiry)
	}
}

func (s *suite) iterateIsolated(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, a, "a", payload("a", 10), time.Now().Add(longLife))
	s.save(t, b, "b", payload("b", 10), time.Now().Add(longLife))
	s.wantVisits(t, a, map[string][]byte{"a": payload("a", 10)})
}

// countChecks follow the docs of Counter and sessionstore.Count: every way
// of counting (Counter.Count, sessionstore.Count, Iterate) must agree.
func (s *suite) countChecks() []check {
	return []check{
		{name: "counts the live records", run: s.countLive},
		{name: "excludes expired records", clock: true, run: s.countExpired},
		{name: "excludes records whose expiry Touch or CompareAndSwap moved earlier", clock: true, run: s.countMovedEarlier},
		{name: "counts only this store's records", run: s.countIsolated},
	}
}

func (s *suite) countLive(t tester, st *store) {
	s.wantCount(t, st, 0)
	expiry := time.Now().Add(longLife)
	for i := range 5 {
		s.save(t, st, fmt.Sprint("id ", i), payload(fmt.Sprint(i), 10), expiry)
	}
	s.save(t, st, "empty", nil, expiry)
	s.wantCount(t, st, 6)
	if err := st.Delete(t.Context(), "id 0"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.save(t, st, "id 1", payload("past", 10), time.Now().Add(-time.Minute))
	s.wantCount(t, st, 4)
}

// countRecords is how many live and how many expiring records
// countExpired saves: enough that a store keeping them in shards or
// buckets has both kinds in most of them, and that a store reading them in
// pages of 100 (or of any round number) reads a last page only partly full.
const countRecords = 150

func (s *suite) countExpired(t tester, st *store) {
	expiry := time.Now().Add(shortLife)
	for i := range countRecords {
		s.save(t, st, fmt.Sprint("live ", i), payload("live", 10), time.Now().Add(longLife))
		s.save(t, st, fmt.Sprint("expiring ", i), payload("expiring", 10), expiry)
	}
	sleepUntil(t, s.goneAt(expiry))
	s.wantCount(t, st, countRecords)
}

// countMovedEarlier moves the expiries of long-lived records earlier, with
// Touch and with CompareAndSwap, and waits for them: a store whose index of
// expiries (a sorted set, an expiry column read by Count) one of them
// forgets to update counts and visits them still.
func (s *suite) countMovedEarlier(t tester, st *store) {
	if st.toucher == nil && st.swapper == nil {
		t.Skipf("the store implements neither Toucher nor Swapper")
	}
	live := payload("live", 10)
	s.save(t, st, "live", live, time.Now().Add(longLife))
	expiry := time.Now().Add(shortLife)
	if st.toucher != nil {
		s.save(t, st, "touched", payload("touched", 10), time.Now().Add(longLife))
		s.touch(t, st, "touched", expiry)
	}
	if st.swapper != nil {
		s.save(t, st, "swapped", payload("swapped", 10), time.Now().Add(longLife))
		if !s.cas(t, st, "swapped", s.version(t, st, "swapped"), payload("swapped", 10), expiry) {
			t.Fatalf("CompareAndSwap over the loaded version = false; want true")
		}
	}
	sleepUntil(t, s.goneAt(expiry))
	s.wantCount(t, st, 1)
	if st.iterator != nil {
		s.wantVisits(t, st, map[string][]byte{"live": live})
	}
}

func (s *suite) countIsolated(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, b, "b", payload("b", 10), time.Now().Add(longLife))
	s.wantCount(t, a, 0)
}

// closeChecks follow the docs of io.Closer and ErrClosed in package
// sessionstore.
func (s *suite) closeChecks() []check {
	return []check{
		{name: "Close of a store never used returns promptly with nil", run: s.closeUnused},
		{name: "calling Close twice is safe", run: s.closeTwice},
		{name: "after Close, calls keep working or fail with ErrClosed, and one that returned nil did its work", run: s.closeThenCall},
		{name: "after Close, no goroutine the store started is left", run: s.closeLeaves},
	}
}

func (s *suite) closeTwice(t tester, st *store) {
	for i := range 2 {
		var err error
		if !within(t, promptly, fmt.Sprintf("Close #%d", i+1), func() { err = st.closer.Close() }) {
			return
		}
		if err != nil {
			t.Errorf("Close #%d = %v; want nil", i+1, err)
		}
	}
}

// closeThenCall calls every method after Close: each must fail with
// ErrClosed, or work, and a call that worked must have done what it said
// (a closed store that drops writes while answering nil fails here).
func (s *suite) closeThenCall(t tester, st *store) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	kept, doomed, saved, swapped := payload("kept", 10), payload("doomed", 10), payload("saved", 10), payload("swapped", 10)
	s.save(t, st, "kept", kept, expiry)
	s.save(t, st, "doomed", doomed, expiry)
	var other *store // another client, which sees what the closed store did
	if s.h.OpenAgain != nil {
		other = s.openAgain(t, st)
	}
	var deleted []string
	if err := st.closer.Close(); err != nil {
		t.Errorf("Close = %v; want nil", err)
	}
	// call runs one method and reports whether it worked. A call that did
	// not return ends the check: its results are still being written.
	call := func(name string, f func() error) bool {
		t.Helper()
		var err error
		if !within(t, promptly, name+" after Close", func() { err = f() }) {
			t.FailNow()
		}
		if err != nil && !errors.Is(err, sessionstore.ErrClosed) {
			t.Errorf("%s after Close = %v; want nil or an error wrapping ErrClosed", name, err)
		}
		return err == nil
	}
	live := map[string][]byte{"kept": kept, "doomed": doomed} // what a working store holds

	var rec sessionstore.Record
	var found bool
	loads := call("Load", func() (err error) { rec, found, err = st.Load(ctx, "kept"); return err })
	switch {
	case loads && (!found || !bytes.Equal(rec.Data, kept)):
		t.Errorf("Load after Close = %s, found %v, nil error; want the record saved before Close", describe(rec.Data), found)
	case !loads && found:
		t.Errorf("Load after Close failed yet reported found")
	}
	if call("Save", func() error { return st.Save(ctx, "saved", saved, expiry) }) {
		live["saved"] = saved
	}
	if call("Delete", func() error { return st.Delete(ctx, "doomed") }) {
		delete(live, "doomed")
		deleted = append(deleted, "doomed")
	}
	if st.toucher != nil {
		var touched bool
		works := call("Touch", func() (err error) { touched, err = st.toucher.Touch(ctx, "kept", expiry); return err })
		if touched != works {
			t.Errorf("Touch of a live id after Close reported %v, working %v; want true when it works, false when it fails", touched, works)
		}
	}
	if st.swapper != nil {
		var ok bool
		works := call("CompareAndSwap", func() (err error) {
			ok, err = st.swapper.CompareAndSwap(ctx, "swapped", 0, swapped, expiry)
			return err
		})
		if ok != works {
			t.Errorf("CompareAndSwap of a new id after Close reported %v, working %v; want true when it works, false when it fails", ok, works)
		}
		if works {
			live["swapped"] = swapped
		}
	}
	if loads {
		// A store whose Load works after Close must show what the calls
		// that worked did.
		for _, id := range []string{"kept", "doomed", "saved", "swapped"} {
			got, found, err := st.Load(ctx, id)
			want, ok := live[id]
			switch {
			case err != nil:
				t.Errorf("Load(%q) after Close = %v, where a Load worked before", id, err)
			case ok && (!found || !bytes.Equal(got.Data, want)):
				t.Errorf("Load(%q) after Close = %s, found %v; want %s: a call after Close answered nil without doing its work",
					id, describe(got.Data), found, describe(want))
			case !ok && found:
				t.Errorf("Load(%q) after Close found %s; want not found: a call after Close answered nil without doing its work",
					id, describe(got.Data))
			}
		}
	}
	if st.iterator != nil {
		n := 0
		if call("Iterate", func() error {
			return st.iterator.Iterate(ctx, func(string, sessionstore.Record) bool { n++; return true })
		}) && n != len(live) {
			t.Errorf("Iterate after Close visited %d records; want %d", n, len(live))
		}
	}
	if st.counter != nil {
		var n int
		if call("Count", func() (err error) { n, err = st.counter.Count(ctx); return err }) && n != len(live) {
			t.Errorf("Count after Close = %d; want %d", n, len(live))
		}
	}
	if other != nil {
		s.wantThrough(t, other, live, deleted)
	}
}

// closeUnused closes a store no call was made on: a store that starts its
// work lazily must not panic or wait for work that never started.
func (s *suite) closeUnused(t tester, st *store) {
	var err error
	if within(t, promptly, "Close of a store never used", func() { err = st.closer.Close() }) && err != nil {
		t.Errorf("Close of a store never used = %v; want nil", err)
	}
}

// closeLeaves makes a store of its own, uses every method, closes it and
// looks for goroutines it left: those started from this goroutine (or from
// those it started) since, with a function of the store's package on their
// stack.
func (s *suite) closeLeaves(t tester, _ *store) {
	before := goroutines()
	st := s.newStore(t)
	pkg := pkgPath(st.Store)
	ctx := t.Context()
	for _, o := range ops(st) {
		if _, err := o.call(ctx, st, "id"); err != nil {
			t.Fatalf("%s = %v", o.name, err)
		}
	}
	if err := st.closer.Close(); err != nil {
		t.Errorf("Close = %v; want nil", err)
	}
	self := currentGoroutine()
	var left []goroutine
	deadline := time.Now().Add(time.Second) // for goroutines on their way out
	for {
		left = leftBehind(goroutines(), before, self, pkg)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, g := range left {
		t.Errorf("goroutine %d, started by the store, is still there after Close returned:\n%s", g.id, g.stack)
	}
}
