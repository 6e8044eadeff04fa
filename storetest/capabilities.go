package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
		{name: "moves the expiry earlier", clock: true, run: s.touchEarlier},
		{name: "expiry in the past removes the record", run: s.touchPast},
		{name: "does not reach another store's record", run: s.touchIsolated},
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
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	expiry := time.Now().Add(shortLife)
	s.touch(t, st, "id", expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantGone(t, st, "id")
}

func (s *suite) touchPast(t tester, st *store) {
	s.save(t, st, "id", payload("id", 30), time.Now().Add(longLife))
	s.touch(t, st, "id", time.Now().Add(-time.Minute))
	s.wantGone(t, st, "id")
}

func (s *suite) touchIsolated(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, a, "shared", payload("a", 30), time.Now().Add(longLife))
	s.wantTouchCreatesNothing(t, b, "shared")
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
		{name: "version 0 writes over an expired record", clock: true, run: s.swapZeroExpired},
		{name: "version 0 writes over a record saved with an expiry in the past", run: s.swapZeroPast},
		{name: "the loaded version writes data and expiry and changes the version", run: s.swapLoaded},
		{name: "a stale version reports false with nil error and writes nothing", run: s.swapStale},
		{name: "a plain Save changes the version so an older swap fails", run: s.swapAfterSave},
		{name: "a non-zero version on a missing id reports false and creates nothing", run: s.swapMissing},
		{name: fmt.Sprintf("exactly one of %d racers wins, round after round", racers), run: s.swapRace},
		{name: "data over MaxDataSize fails with ErrTooLarge and writes nothing", run: s.swapTooLarge},
		{name: "the caller may reuse the data slice after CompareAndSwap", run: s.swapNoAlias},
		{name: "expiry in the past leaves the id gone", run: s.swapPast},
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

func (s *suite) swapZeroExpired(t tester, st *store) {
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "id", payload("old", 10), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantSwapZero(t, st, "id")
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

// racers and raceRounds size the compare-and-swap race.
const (
	racers     = 32
	raceRounds = 8
)

func (s *suite) swapRace(t tester, st *store) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	version := uint64(0) // the first round races to create the record
	for round := range raceRounds {
		start := make(chan struct{})
		var wins atomic.Int32
		var winner atomic.Int32
		var wg sync.WaitGroup
		for r := range racers {
			wg.Go(func() {
				<-start
				ok, err := st.swapper.CompareAndSwap(ctx, "race", version, raceData(round, r), expiry)
				if err != nil {
					t.Errorf("round %d: CompareAndSwap = %v", round, err)
				}
				if ok {
					wins.Add(1)
					winner.Store(int32(r))
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d racers swapped over version %d; want exactly 1", round, n, racers, version)
		}
		rec := s.mustLoad(t, st, "race")
		if want := raceData(round, int(winner.Load())); !bytes.Equal(rec.Data, want) {
			t.Fatalf("round %d: Load.Data = %s; want the winner's %s", round, describe(rec.Data), describe(want))
		}
		if rec.Version == version || rec.Version == 0 {
			t.Fatalf("round %d: Version after the winning swap = %d; want new and non-zero", round, rec.Version)
		}
		version = rec.Version
	}
}

func raceData(round, racer int) []byte { return fmt.Appendf(nil, "round %d racer %d", round, racer) }

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

func (s *suite) swapNoAlias(t tester, st *store) {
	data, expiry := payload("reused", 64), time.Now().Add(longLife)
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
	s.save(t, st, "id", payload("live", 10), time.Now().Add(longLife))
	s.cas(t, st, "id", s.version(t, st, "id"), payload("past", 10), time.Now().Add(-time.Minute))
	s.wantGone(t, st, "id")
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
// with its data.
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
		{name: "counts only this store's records", run: s.countIsolated},
	}
}

func (s *suite) countLive(t tester, st *store) {
	s.wantCount(t, st, 0)
	expiry := time.Now().Add(longLife)
	for i := range 5 {
		s.save(t, st, fmt.Sprint("id ", i), payload(fmt.Sprint(i), 10), expiry)
	}
	s.wantCount(t, st, 5)
	if err := st.Delete(t.Context(), "id 0"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.save(t, st, "id 1", payload("past", 10), time.Now().Add(-time.Minute))
	s.wantCount(t, st, 3)
}

func (s *suite) countExpired(t tester, st *store) {
	s.save(t, st, "live", payload("live", 10), time.Now().Add(longLife))
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "expiring", payload("expiring", 10), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantCount(t, st, 1)
}

func (s *suite) countIsolated(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, b, "b", payload("b", 10), time.Now().Add(longLife))
	s.wantCount(t, a, 0)
}

// closeChecks follow the docs of Close in DESIGN.md and of ErrClosed.
func (s *suite) closeChecks() []check {
	return []check{
		{name: "calling Close twice is safe", run: s.closeTwice},
		{name: "after Close, calls keep working or fail with ErrClosed", run: s.closeThenCall},
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

func (s *suite) closeThenCall(t tester, st *store) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	if err := st.closer.Close(); err != nil {
		t.Errorf("Close = %v; want nil", err)
	}
	for _, o := range ops(st) {
		var claimed bool
		var err error
		if !within(t, promptly, o.name+" after Close", func() { claimed, err = o.call(t.Context(), st, "id") }) {
			continue
		}
		if err != nil && !errors.Is(err, sessionstore.ErrClosed) {
			t.Errorf("%s after Close = %v; want nil or an error wrapping ErrClosed", o.name, err)
		}
		if err != nil && claimed {
			t.Errorf("%s after Close failed with %v yet %s", o.name, err, o.claim)
		}
	}
}
