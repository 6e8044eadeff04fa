package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sessionstore/sessionstore"
)

// Rules 1 to 4, 6, 7 and 9 of the contract; ids (rule 5) are in ids.go and
// the unreachable database (rule 8) in unreachable.go.

// Rule 1 and the doc of Store.Load.
func (s *suite) loadChecks() []check {
	checks := []check{
		{name: "missing id is not found with nil error", run: s.loadMissing},
		{name: "deleted id is not found with nil error", run: s.loadDeleted},
		{name: "expired id is not found with nil error", clock: true, run: s.loadExpired},
		{name: "returns the saved data and expiry", run: s.loadSaved},
		{name: "returned data is the caller's", run: s.loadNoAlias},
	}
	if s.probe.swapper == nil {
		checks = append(checks, check{name: "version is zero on a store without CompareAndSwap", run: s.loadVersionZero})
	}
	return checks
}

func (s *suite) loadMissing(t tester, st *store) {
	s.wantGone(t, st, "never-saved")
}

func (s *suite) loadDeleted(t tester, st *store) {
	s.save(t, st, "deleted", payload("deleted", 32), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "deleted"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantGone(t, st, "deleted")
}

func (s *suite) loadExpired(t tester, st *store) {
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "expiring", payload("expiring", 32), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantGone(t, st, "expiring")
}

func (s *suite) loadSaved(t tester, st *store) {
	data, expiry := payload("saved", 100), time.Now().Add(longLife)
	s.save(t, st, "saved", data, expiry)
	s.wantRecord(t, st, "saved", data, expiry)
}

func (s *suite) loadNoAlias(t tester, st *store) {
	data := payload("alias", 64)
	s.save(t, st, "alias", data, time.Now().Add(longLife))
	first := s.mustLoad(t, st, "alias")
	second := s.mustLoad(t, st, "alias")
	for i := range first.Data {
		first.Data[i] ^= 0xff
	}
	if !bytes.Equal(second.Data, data) {
		t.Errorf("changing the Data one Load returned changed the Data of another Load: %s; want %s",
			describe(second.Data), describe(data))
	}
	if rec := s.mustLoad(t, st, "alias"); !bytes.Equal(rec.Data, data) {
		t.Errorf("changing the Data Load returned changed the stored record: %s; want %s",
			describe(rec.Data), describe(data))
	}
}

func (s *suite) loadVersionZero(t tester, st *store) {
	s.save(t, st, "unversioned", payload("unversioned", 8), time.Now().Add(longLife))
	if rec := s.mustLoad(t, st, "unversioned"); rec.Version != 0 {
		t.Errorf("Load.Version = %d; want 0 from a store that does not implement sessionstore.Swapper", rec.Version)
	}
}

// Rule 2 and the doc of Store.Save.
func (s *suite) saveChecks() []check {
	return []check{
		{name: "overwrites data and expiry", run: s.saveOverwrites},
		{name: "overwrite with a later expiry keeps the record past the earlier one", clock: true, run: s.saveLater},
		{name: "overwrite with an earlier expiry removes the record at the new one", clock: true, run: s.saveEarlier},
		{name: "expiry in the past removes the record", run: s.savePast},
		{name: "expiry of now removes the record", run: s.saveNow},
		{name: "expiry in the past on a new id stores nothing", run: s.savePastNew},
		{name: "every byte value round-trips", run: s.saveAllBytes},
		{name: "empty data round-trips", run: s.saveEmpty},
		{name: "nil data round-trips as empty", run: s.saveNil},
		{name: "data of MaxDataSize bytes round-trips", run: s.saveMax},
		{name: "MaxDataSize is at least 512 KiB", run: s.saveMaxAtLeast},
		{name: "data over MaxDataSize fails with ErrTooLarge and keeps the previous record", run: s.saveTooLarge},
		{name: "the caller may reuse the data slice after Save", run: s.saveNoAlias},
	}
}

func (s *suite) saveOverwrites(t tester, st *store) {
	s.save(t, st, "id", payload("first", 40), time.Now().Add(longLife))
	data, expiry := payload("second", 20), time.Now().Add(2*longLife)
	s.save(t, st, "id", data, expiry)
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) saveLater(t tester, st *store) {
	first := time.Now().Add(shortLife)
	s.save(t, st, "id", payload("first", 40), first)
	data, expiry := payload("second", 40), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	sleepUntil(t, s.goneAt(first))
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) saveEarlier(t tester, st *store) {
	s.save(t, st, "id", payload("first", 40), time.Now().Add(longLife))
	expiry := time.Now().Add(shortLife)
	s.save(t, st, "id", payload("second", 40), expiry)
	sleepUntil(t, s.goneAt(expiry))
	s.wantGone(t, st, "id")
}

func (s *suite) savePast(t tester, st *store) {
	s.save(t, st, "id", payload("live", 40), time.Now().Add(longLife))
	s.save(t, st, "id", payload("past", 40), time.Now().Add(-time.Minute))
	s.wantGone(t, st, "id")
}

func (s *suite) saveNow(t tester, st *store) {
	s.save(t, st, "id", payload("live", 40), time.Now().Add(longLife))
	s.save(t, st, "id", payload("now", 40), time.Now())
	s.wantGone(t, st, "id")
}

func (s *suite) savePastNew(t tester, st *store) {
	s.save(t, st, "id", payload("past", 40), time.Now().Add(-time.Minute))
	s.wantGone(t, st, "id")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

func (s *suite) saveAllBytes(t tester, st *store) {
	data, expiry := allBytes(), time.Now().Add(longLife)
	s.save(t, st, "bytes", data, expiry)
	s.wantRecord(t, st, "bytes", data, expiry)
}

func (s *suite) saveEmpty(t tester, st *store) {
	s.save(t, st, "empty", []byte{}, time.Now().Add(longLife))
	if rec := s.mustLoad(t, st, "empty"); len(rec.Data) != 0 {
		t.Errorf("Load.Data = %s; want empty", describe(rec.Data))
	}
}

func (s *suite) saveNil(t tester, st *store) {
	s.save(t, st, "nil", nil, time.Now().Add(longLife))
	if rec := s.mustLoad(t, st, "nil"); len(rec.Data) != 0 {
		t.Errorf("Load.Data = %s; want empty", describe(rec.Data))
	}
}

// maxSize is the largest data the store must keep.
func (s *suite) maxSize() int {
	if s.h.MaxDataSize == 0 {
		return minMaxDataSize
	}
	return s.h.MaxDataSize
}

// minMaxDataSize is the least maximum data size the contract allows.
const minMaxDataSize = 512 << 10

func (s *suite) saveMax(t tester, st *store) {
	data, expiry := payload("max", s.maxSize()), time.Now().Add(longLife)
	s.save(t, st, "max", data, expiry)
	s.wantRecord(t, st, "max", data, expiry)
}

func (s *suite) saveMaxAtLeast(t tester, _ *store) {
	if m := s.h.MaxDataSize; m != 0 && m < minMaxDataSize {
		t.Errorf("Harness.MaxDataSize = %d; the contract asks every store to keep at least %d bytes", m, minMaxDataSize)
	}
}

func (s *suite) saveTooLarge(t tester, st *store) {
	if s.h.MaxDataSize == 0 {
		t.Skipf("Harness.MaxDataSize is 0: the store has no maximum")
	}
	data, expiry := payload("kept", 100), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	big := payload("big", s.h.MaxDataSize+1)
	if err := st.Save(t.Context(), "id", big, time.Now().Add(2*longLife)); !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("Save of %d bytes over a record = %v; want an error wrapping ErrTooLarge", len(big), err)
	}
	s.wantRecord(t, st, "id", data, expiry)
	if err := st.Save(t.Context(), "new", big, time.Now().Add(longLife)); !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("Save of %d bytes to a new id = %v; want an error wrapping ErrTooLarge", len(big), err)
	}
	s.wantGone(t, st, "new")
}

func (s *suite) saveNoAlias(t tester, st *store) {
	data, expiry := payload("reused", 64), time.Now().Add(longLife)
	buf := bytes.Clone(data)
	s.save(t, st, "id", buf, expiry)
	for i := range buf {
		buf[i] = 0xee
	}
	s.wantRecord(t, st, "id", data, expiry)
}

// Rule 3 and the doc of Store.Delete.
func (s *suite) deleteChecks() []check {
	return []check{
		{name: "removes the record", run: s.deleteRemoves},
		{name: "missing id is not an error", run: s.deleteMissing},
		{name: "deleting twice is not an error", run: s.deleteTwice},
		{name: "leaves other ids intact", run: s.deleteOthers},
	}
}

func (s *suite) deleteRemoves(t tester, st *store) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "id"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	s.wantGone(t, st, "id")
}

func (s *suite) deleteMissing(t tester, st *store) {
	if err := st.Delete(t.Context(), "never-saved"); err != nil {
		t.Errorf("Delete of a missing id = %v; want nil", err)
	}
}

func (s *suite) deleteTwice(t tester, st *store) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	for i := range 2 {
		if err := st.Delete(t.Context(), "id"); err != nil {
			t.Errorf("Delete #%d = %v; want nil", i+1, err)
		}
	}
}

func (s *suite) deleteOthers(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	for _, id := range []string{"a", "b", "c"} {
		s.save(t, st, id, payload(id, 10), expiry)
	}
	if err := st.Delete(t.Context(), "b"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantRecord(t, st, "a", payload("a", 10), expiry)
	s.wantRecord(t, st, "c", payload("c", 10), expiry)
}

// Rule 4: every method, given a context that already ended, fails promptly
// with an error wrapping the context's error.
func (s *suite) contextChecks() []check {
	var checks []check
	for _, o := range ops(s.probe) {
		checks = append(checks,
			check{
				name: o.name + " with a cancelled context fails with context.Canceled",
				run:  func(t tester, st *store) { s.contextEnded(t, st, o, true) },
			},
			check{
				name: o.name + " with an expired deadline fails with context.DeadlineExceeded",
				run:  func(t tester, st *store) { s.contextEnded(t, st, o, false) },
			})
	}
	return checks
}

func (s *suite) contextEnded(t tester, st *store, o op, cancelled bool) {
	// A record to find, so that a store ignoring the context is seen to
	// answer.
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	ctx, want := ctxEnded(t, cancelled)
	var claimed bool
	var err error
	if !within(t, promptly, o.name, func() { claimed, err = o.call(ctx, st, "id") }) {
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s = %v; want an error wrapping %v", o.name, err, want)
	}
	if claimed {
		t.Errorf("%s %s with a context that had ended", o.name, o.claim)
	}
}

// Rule 6: two stores apart on one server never see each other's records.
func (s *suite) isolationChecks() []check {
	return []check{
		{name: "a record saved in one store is not found in the other", run: s.isolationLoad},
		{name: "Save in one store leaves the other's record intact", run: s.isolationSave},
		{name: "Delete in one store leaves the other's record intact", run: s.isolationDelete},
	}
}

func (s *suite) isolationLoad(t tester, a *store) {
	b := s.newStore(t)
	s.save(t, a, "shared", payload("a", 10), time.Now().Add(longLife))
	s.wantGone(t, b, "shared")
}

func (s *suite) isolationSave(t tester, a *store) {
	b := s.newStore(t)
	data, expiry := payload("a", 10), time.Now().Add(longLife)
	s.save(t, a, "shared", data, expiry)
	s.save(t, b, "shared", payload("b", 20), time.Now().Add(2*longLife))
	s.wantRecord(t, a, "shared", data, expiry)
}

func (s *suite) isolationDelete(t tester, a *store) {
	b := s.newStore(t)
	data, expiry := payload("a", 10), time.Now().Add(longLife)
	s.save(t, a, "shared", data, expiry)
	s.save(t, b, "shared", payload("b", 20), expiry)
	if err := b.Delete(t.Context(), "shared"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantRecord(t, a, "shared", data, expiry)
}

// Rule 7: every method is safe for concurrent use. Run the suite with -race
// for these checks to mean most.
func (s *suite) concurrencyChecks() []check {
	return []check{
		{name: "Save, Load and Delete in parallel on distinct ids", run: s.concurrentDistinct},
		{name: "Save, Load and Delete in parallel on shared ids", run: s.concurrentShared},
		{name: "every method in parallel on shared ids", run: s.concurrentEvery},
	}
}

const (
	workers          = 16
	opsPerWorker     = 100
	sharedIDs        = 4
	sharedRecordSize = 64
)

// parallel runs f on workers goroutines and waits for them.
func parallel(f func(worker int)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { f(w) })
	}
	wg.Wait()
}

func (s *suite) concurrentDistinct(t tester, st *store) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	parallel(func(w int) {
		for i := range opsPerWorker {
			id := fmt.Sprintf("worker %d session %d", w, i)
			data := payload(id, 50)
			if err := st.Save(ctx, id, data, expiry); err != nil {
				t.Errorf("Save(%q) = %v", id, err)
				return
			}
			rec, found, err := st.Load(ctx, id)
			if err != nil || !found || !bytes.Equal(rec.Data, data) {
				t.Errorf("Load(%q) = %s, found %v, %v; want %s", id, describe(rec.Data), found, err, describe(data))
				return
			}
			if err := st.Delete(ctx, id); err != nil {
				t.Errorf("Delete(%q) = %v", id, err)
				return
			}
			if _, found, err := st.Load(ctx, id); err != nil || found {
				t.Errorf("Load(%q) after Delete = found %v, %v; want not found", id, found, err)
				return
			}
		}
	})
}

// sharedRecord is what worker w writes to a shared id: one byte value
// repeated, so that a record mixing two writes is seen.
func sharedRecord(w int) []byte { return bytes.Repeat([]byte{byte('a' + w)}, sharedRecordSize) }

// checkShared reports unless data is one whole write of a worker.
func checkShared(t tester, id string, data []byte) bool {
	if len(data) != sharedRecordSize || data[0] < 'a' || data[0] >= 'a'+workers ||
		!bytes.Equal(data, sharedRecord(int(data[0]-'a'))) {
		t.Errorf("Load(%q) = %s; want one worker's whole write", id, describe(data))
		return false
	}
	return true
}

func (s *suite) concurrentShared(t tester, st *store) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	parallel(func(w int) {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for range opsPerWorker {
			id := fmt.Sprintf("shared %d", rng.IntN(sharedIDs))
			var err error
			switch rng.IntN(3) {
			case 0:
				err = st.Save(ctx, id, sharedRecord(w), expiry)
			case 1:
				var rec sessionstore.Record
				var found bool
				rec, found, err = st.Load(ctx, id)
				if found && !checkShared(t, id, rec.Data) {
					return
				}
			case 2:
				err = st.Delete(ctx, id)
			}
			if err != nil {
				t.Errorf("on %q: %v", id, err)
				return
			}
		}
	})
}

func (s *suite) concurrentEvery(t tester, st *store) {
	ctx := t.Context()
	expiry := time.Now().Add(longLife)
	calls := ops(st)
	parallel(func(w int) {
		rng := rand.New(rand.NewPCG(uint64(w), 11))
		for range opsPerWorker {
			id := fmt.Sprintf("shared %d", rng.IntN(sharedIDs))
			var err error
			switch o := calls[rng.IntN(len(calls))]; o.name {
			case "Save":
				err = st.Save(ctx, id, sharedRecord(w), expiry)
			case "CompareAndSwap":
				// Swap over the version just read: a real read-modify-write.
				rec, _, lerr := st.Load(ctx, id)
				if lerr != nil {
					err = lerr
					break
				}
				_, err = st.swapper.CompareAndSwap(ctx, id, rec.Version, sharedRecord(w), expiry)
			case "Iterate":
				err = st.iterator.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
					return checkShared(t, id, rec.Data)
				})
			case "Load":
				var rec sessionstore.Record
				var found bool
				rec, found, err = st.Load(ctx, id)
				if found && !checkShared(t, id, rec.Data) {
					return
				}
			default:
				_, err = o.call(ctx, st, id)
			}
			if err != nil {
				t.Errorf("on %q: %v", id, err)
				return
			}
		}
	})
}

// Rule 9: expiry precision.
func (s *suite) expiryChecks() []check {
	short := fmt.Sprintf("saved to expire in %v is found at %v and gone at %v",
		shortLife, shortLife/3, shortLife+s.h.ExpiryPrecision+clockSlack)
	return []check{
		{name: "saved to expire in 2 s is found at 1 s and gone at 3 s", clock: true, run: s.expiryRule9},
		{name: short, clock: true, run: s.expiryShort},
		{name: "expiry 31 days ahead is kept", run: s.expiryFar},
	}
}

func (s *suite) expiryRule9(t tester, st *store) {
	if s.h.ExpiryPrecision > time.Second {
		t.Errorf("Harness.ExpiryPrecision = %v; rule 9 allows at most 1 s", s.h.ExpiryPrecision)
	}
	rule9 := []time.Duration{2 * time.Second, 2 * time.Second}
	beforeExpiry(t, rule9, func(life time.Duration) bool {
		return s.foundThenGone(t, st, life, time.Second, 3*time.Second)
	})
}

func (s *suite) expiryShort(t tester, st *store) {
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		return s.foundThenGone(t, st, life, life/3, life+s.h.ExpiryPrecision+clockSlack)
	})
}

// foundThenGone saves a record to live for life, checks that it is found at
// foundAt and gone at goneAt. It returns false when the machine was too slow
// to load the record before its expiry.
func (s *suite) foundThenGone(t tester, st *store, life, foundAt, goneAt time.Duration) bool {
	id := fmt.Sprintf("lives %v", life)
	start := time.Now()
	data, expiry := payload(id, 32), start.Add(life)
	s.save(t, st, id, data, expiry)
	sleepUntil(t, start.Add(foundAt))
	rec, found := s.load(t, st, id)
	if time.Now().After(expiry) {
		return false
	}
	if !found || !bytes.Equal(rec.Data, data) {
		t.Errorf("Load at %v of a record saved to live %v = %s, found %v; want %s",
			foundAt, life, describe(rec.Data), found, describe(data))
	}
	sleepUntil(t, start.Add(goneAt))
	s.wantGone(t, st, id)
	return true
}

func (s *suite) expiryFar(t tester, st *store) {
	// memcached reads a relative expiration over 30 days as a Unix time in
	// 1970: the record would be gone at once.
	data, expiry := payload("far", 32), time.Now().Add(31*24*time.Hour)
	s.save(t, st, "far", data, expiry)
	s.wantRecord(t, st, "far", data, expiry)
}
