package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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
		{name: "returned data is the caller's", run: func(t tester, st *store) { s.loadNoAlias(t, st, 64) }},
		{name: fmt.Sprintf("returned data is the caller's at %d KiB", bigRecordSize>>10), run: func(t tester, st *store) { s.loadNoAlias(t, st, bigRecordSize) }},
		{name: "returned data stays the caller's through later writes of every size", run: s.loadKeptThroughWrites},
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

// bigRecordSize is the size of the records that check that a store neither
// keeps nor hands out its buffers: above the 8 KiB under which stores often
// copy and over which they often share.
const bigRecordSize = 16 << 10

func (s *suite) loadNoAlias(t tester, st *store, size int) {
	data := payload("alias", size)
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

// loadKeptThroughWrites loads records of every size class, then writes
// records of every size: a store that hands out a pooled buffer and takes
// it back for a later write changes the Data a caller holds.
func (s *suite) loadKeptThroughWrites(t tester, st *store) {
	sizes := []int{1, 64, 65, 3 << 10, 4 << 10, bigRecordSize, s.maxSize()}
	expiry := time.Now().Add(longLife)
	type held struct {
		id         string
		data, want []byte
	}
	var loaded []held
	for _, n := range sizes {
		id := fmt.Sprint("loaded ", n)
		s.save(t, st, id, payload(id, n), expiry)
		rec := s.mustLoad(t, st, id)
		loaded = append(loaded, held{id, rec.Data, bytes.Clone(rec.Data)})
	}
	for _, n := range sizes {
		id := fmt.Sprint("written ", n)
		s.save(t, st, id, payload(id, n), expiry)
		if st.swapper != nil {
			s.cas(t, st, id, s.version(t, st, id), payload(id+" swapped", n), expiry)
		}
	}
	for _, h := range loaded {
		if !bytes.Equal(h.data, h.want) {
			t.Errorf("the Data Load(%q) returned changed when later records were written: %s; want %s", h.id, describe(h.data), describe(h.want))
		}
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
		{name: "zero expiry removes the record: it is long past, not \"never\"", run: s.saveZero},
		{name: "zero expiry on a new id stores nothing", run: s.saveZeroNew},
		{name: "expiry after 2262 keeps the record", run: s.saveFarFuture},
		{name: "expiries at MaxExpiry, a nanosecond either side and past the year 9999 keep the record", run: s.saveEdgeExpiries},
		{name: "expiry in the past on a new id stores nothing", run: s.savePastNew},
		{name: "every byte value round-trips", run: s.saveAllBytes},
		{name: "empty data round-trips", run: s.saveEmpty},
		{name: "nil data round-trips as empty", run: s.saveNil},
		{name: "data of MaxDataSize bytes round-trips", run: s.saveMax},
		{name: "MaxDataSize is at least 512 KiB", run: s.saveMaxAtLeast},
		{name: "data over MaxDataSize fails with ErrTooLarge and keeps the previous record", run: s.saveTooLarge},
		{name: "the caller may reuse the data slice after Save", run: func(t tester, st *store) { s.saveNoAlias(t, st, 64) }},
		{name: fmt.Sprintf("the caller may reuse the data slice after Save at %d KiB", bigRecordSize>>10), run: func(t tester, st *store) { s.saveNoAlias(t, st, bigRecordSize) }},
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
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		id := fmt.Sprintf("lives %v", life)
		s.save(t, st, id, payload("first", 40), time.Now().Add(longLife))
		data, expiry := payload("second", 40), time.Now().Add(life)
		s.save(t, st, id, data, expiry)
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

func (s *suite) saveZero(t tester, st *store) {
	s.save(t, st, "id", payload("live", 40), time.Now().Add(longLife))
	s.save(t, st, "id", payload("zero", 40), time.Time{})
	s.wantGone(t, st, "id")
}

func (s *suite) saveZeroNew(t tester, st *store) {
	s.save(t, st, "id", payload("zero", 40), time.Time{})
	s.wantGone(t, st, "id")
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}

// farFuture is an expiry past the range of time.Time.UnixNano, where a store
// converting it to nanoseconds carelessly gets a time long past.
var farFuture = time.Date(2300, time.January, 1, 0, 0, 0, 0, time.UTC)

func (s *suite) saveFarFuture(t tester, st *store) {
	data := payload("far", 40)
	s.save(t, st, "id", data, farFuture)
	s.wantFarFuture(t, st, "id", data)
}

// wantFarFuture reports unless id holds data with an expiry of farFuture, or
// of MaxExpiry or later for a store that cannot hold farFuture.
func (s *suite) wantFarFuture(t tester, st *store, id string, data []byte) {
	t.Helper()
	rec, found := s.load(t, st, id)
	switch {
	case !found:
		t.Errorf("Load(%s) = not found; want the record saved to expire in %v", quote(id), farFuture)
	case !bytes.Equal(rec.Data, data):
		t.Errorf("Load(%s).Data = %s; want %s", quote(id), describe(rec.Data), describe(data))
	case !s.sameExpiry(rec.Expiry, farFuture) && rec.Expiry.Before(sessionstore.MaxExpiry.Add(-time.Second)):
		t.Errorf("Load(%s).Expiry = %v; want %v, or no earlier than sessionstore.MaxExpiry (%v)",
			quote(id), rec.Expiry, farFuture, sessionstore.MaxExpiry)
	}
}

// edgeExpiries are the expiries where a store converting times carelessly
// breaks: the last nanosecond of UnixNano's range and either side of it,
// and the years text formats with four digits cannot hold.
var edgeExpiries = []struct {
	label  string
	expiry time.Time
}{
	{"MaxExpiry-1ns", sessionstore.MaxExpiry.Add(-1)},
	{"MaxExpiry", sessionstore.MaxExpiry},
	{"MaxExpiry+1ns", sessionstore.MaxExpiry.Add(1)},
	{"the end of 9999", year9999End},
	{"the year 10000", year10000},
}

func (s *suite) saveEdgeExpiries(t tester, st *store) {
	for _, e := range edgeExpiries {
		data := payload(e.label, 20)
		if err := st.Save(t.Context(), e.label, data, e.expiry); err != nil {
			t.Errorf("Save with expiry %s = %v; want nil", e.label, err)
			continue
		}
		s.wantEdgeExpiry(t, st, e.label, data, e.expiry)
	}
}

// wantEdgeExpiry reports unless id holds data with expiry, or, for one at
// or after MaxExpiry, an expiry no earlier than MaxExpiry truncated to the
// store's precision.
func (s *suite) wantEdgeExpiry(t tester, st *store, id string, data []byte, expiry time.Time) {
	t.Helper()
	m := &model{precision: s.h.ExpiryPrecision}
	rec, found := s.load(t, st, id)
	switch {
	case !found:
		t.Errorf("Load(%s) = not found; want the record expiring %v", quote(id), expiry)
	case !bytes.Equal(rec.Data, data):
		t.Errorf("Load(%s).Data = %s; want %s", quote(id), describe(rec.Data), describe(data))
	case !m.expiryOK(rec.Expiry, expiry):
		t.Errorf("Load(%s).Expiry = %v; want %v (one at or after MaxExpiry: no earlier than %v)", quote(id), rec.Expiry, expiry, m.expiryFloor())
	}
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

func (s *suite) saveNoAlias(t tester, st *store, size int) {
	data, expiry := payload("reused", size), time.Now().Add(longLife)
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
		empty := o.name + " with a cancelled context fails with context.Canceled on an empty store"
		if o.takesID {
			empty = o.name + " of a missing id with a cancelled context fails with context.Canceled"
		}
		checks = append(checks, check{name: empty, run: func(t tester, st *store) { s.contextEmpty(t, st, o) }})
		checks = append(checks, check{
			name: o.name + " failing as its deadline passes during the call wraps context.DeadlineExceeded",
			run:  func(t tester, st *store) { s.contextDuring(t, st, o) },
		})
		for _, c := range causedEnds {
			checks = append(checks, check{
				name: o.name + " with a context " + c.label + " fails wrapping " + c.want.Error() + ", not only the cause",
				run:  func(t tester, st *store) { s.contextCaused(t, st, o, c) },
			})
		}
		checks = append(checks, check{
			name: o.name + " right after a Load of the id, the context then cancelled, fails with context.Canceled",
			run:  func(t tester, st *store) { s.contextAfterLoad(t, st, o) },
		})
	}
	return checks
}

// errCause is the cause the suite ends contexts with: a store reporting
// context.Cause(ctx) instead of ctx.Err() loses context.Canceled.
var errCause = errors.New("storetest: the request was abandoned")

// causedEnds are contexts ended with a cause of their own.
var causedEnds = []struct {
	label string
	end   func(parent context.Context) (context.Context, context.CancelFunc)
	want  error
}{
	{"cancelled with a cause", func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancelCause(parent)
		cancel(errCause)
		return ctx, func() {}
	}, context.Canceled},
	{"past its deadline with a cause", func(parent context.Context) (context.Context, context.CancelFunc) {
		return context.WithDeadlineCause(parent, time.Now().Add(-time.Second), errCause)
	}, context.DeadlineExceeded},
}

// contextCaused calls o with a context ended with a cause: the error must
// wrap ctx.Err() (what the contract promises), whatever it says of the
// cause.
func (s *suite) contextCaused(t tester, st *store, o op, c struct {
	label string
	end   func(parent context.Context) (context.Context, context.CancelFunc)
	want  error
}) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	ctx, cancel := c.end(t.Context())
	defer cancel()
	s.wantEndedCall(t, st, o, ctx, c.want)
}

// contextAfterLoad loads the id, then cancels the context and calls o: a
// store answering from what the Load left behind (a cache, a pooled
// connection's last answer) must still look at the context.
func (s *suite) contextAfterLoad(t tester, st *store, o op) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	ctx, cancel := context.WithCancel(t.Context())
	if _, found, err := st.Load(ctx, "id"); err != nil || !found {
		t.Fatalf("Load = found %v, %v; want the record", found, err)
	}
	cancel()
	s.wantEndedCall(t, st, o, ctx, context.Canceled)
}

// wantEndedCall calls o with ctx, which has ended: it must fail promptly
// wrapping want and claim nothing.
func (s *suite) wantEndedCall(t tester, st *store, o op, ctx context.Context, want error) {
	t.Helper()
	var claimed bool
	var err error
	if !within(t, promptly, o.name, func() { claimed, err = o.call(ctx, st, "id") }) {
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s = %v; want an error wrapping %v (ctx.Err())", o.name, err, want)
	}
	if claimed {
		t.Errorf("%s %s with a context that had ended", o.name, o.claim)
	}
}

// duringAttempts is how many deadlines contextDuring tries, duringStep
// apart, so that some pass while the call is under way on any store.
const (
	duringAttempts = 20
	duringStep     = 100 * time.Microsecond
)

// contextDuring calls o with deadlines from 0 to 2 ms ahead: a call that
// fails once its deadline has passed must say so, whatever the driver made
// of the cut (a closed connection, an I/O timeout).
func (s *suite) contextDuring(t tester, st *store, o op) {
	s.save(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	for i := range duringAttempts {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*duringStep)
		var err error
		ok := within(t, promptly, o.name, func() { _, err = o.call(ctx, st, "id") })
		ended := ctx.Err()
		cancel()
		if !ok {
			return
		}
		if err != nil && ended != nil && !errors.Is(err, ended) {
			t.Errorf("%s with a deadline %v ahead = %v; want an error wrapping %v", o.name, time.Duration(i)*duringStep, err, ended)
			return
		}
	}
}

// contextEmpty is contextEnded on an empty store: a store that looks the
// id up before it checks the context answers "not found" here.
func (s *suite) contextEmpty(t tester, st *store, o op) {
	ctx, want := ctxEnded(t, true)
	var claimed bool
	var err error
	if !within(t, promptly, o.name, func() { claimed, err = o.call(ctx, st, "missing") }) {
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s = %v; want an error wrapping %v", o.name, err, want)
	}
	if claimed {
		t.Errorf("%s %s with a context that had ended", o.name, o.claim)
	}
	if st.countable() {
		s.wantCount(t, st, 0)
	}
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
	checks := []check{
		{name: "a record saved in one store is not found in the other", run: s.isolationLoad},
		{name: "Save in one store leaves the other's record intact", run: s.isolationSave},
		{name: "Delete in one store leaves the other's record intact", run: s.isolationDelete},
	}
	for i, p := range namePairs {
		checks = append(checks, check{
			name: "stores named apart are apart: " + p.label,
			run:  func(t tester, _ *store) { s.isolationNamed(t, i, p, false) },
		})
	}
	for i, p := range nestedNamePairs {
		checks = append(checks, check{
			name: "stores with nested names are apart: " + p.label,
			run:  func(t tester, _ *store) { s.isolationNamed(t, len(namePairs)+i, p, true) },
		})
	}
	return checks
}

// namePair is two store names, and an id for each, that a careless store
// maps to one key or table.
type namePair struct{ label, a, idA, b, idB string }

// longName is longer than the 63 bytes PostgreSQL keeps of an identifier.
var longName = strings.Repeat("n", 70)

// namePairs are names of which neither is a prefix of the other, apart on
// every store.
var namePairs = []namePair{
	{"Sessions and sessions", "Sessions", "id", "sessions", "id"},
	{"x:y and x_y", "x:y", "id", "x_y", "id"},
	{"x-y and x_y", "x-y", "id", "x_y", "id"},
	{"70 bytes alike then 1 or 2", longName + "1", "id", longName + "2", "id"},
}

// nestedNamePairs are names of which one is a prefix of the other, with ids
// that make name+id (or name+":"+id) the same string.
var nestedNamePairs = []namePair{
	{"a+bX and ab+X", "a", "bX", "ab", "X"},
	{"a+b:X and a:b+X", "a", "b:X", "a:b", "X"},
}

// isolationNamed checks pair p, the i-th: its names start with "p<i>", so
// that no two subtests name a store alike.
func (s *suite) isolationNamed(t tester, i int, p namePair, nested bool) {
	if s.h.NewNamedStore == nil {
		t.Skipf("Harness.NewNamedStore is nil")
	}
	if nested && !s.h.NestedNames {
		t.Skipf("Harness.NestedNames is false: the store needs names of which neither is a prefix of the other")
	}
	a, b := s.newNamed(t, fmt.Sprint("p", i, p.a)), s.newNamed(t, fmt.Sprint("p", i, p.b))
	if a == nil || b == nil {
		return // the store refuses a name, so it cannot mix it up with another
	}
	dataA, dataB := payload("a", 30), payload("b", 30)
	expiry := time.Now().Add(longLife)
	s.save(t, a, p.idA, dataA, expiry)
	s.wantGone(t, b, p.idB)
	s.save(t, b, p.idB, dataB, expiry)
	s.wantRecord(t, a, p.idA, dataA, expiry)
	s.wantRecord(t, b, p.idB, dataB, expiry)
	if a.countable() {
		s.wantCount(t, a, 1)
		s.wantCount(t, b, 1)
	}
	if err := b.Delete(t.Context(), p.idB); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantRecord(t, a, p.idA, dataA, expiry)
}

// newNamed returns a fresh store named name by the harness.
func (s *suite) newNamed(t tester, name string) *store {
	t.Helper()
	st := s.h.NewNamedStore(tb(t), name)
	if st == nil {
		t.Logf("Harness.NewNamedStore(%q) returned nil: the store refuses the name", name)
		return nil
	}
	return newStore(st)
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
		{name: "every method in parallel on shared ids with expired records", run: s.concurrentExpired},
		{name: "a record saved while others load its expired predecessor stays", run: s.concurrentResave},
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
// repeated, so that a record mixing two writes is seen. Half the workers
// write small records and half big ones, so that a store that overwrites
// or hands out its buffers only at some size is seen too.
func sharedRecord(w int) []byte {
	size := sharedRecordSize
	if w%2 == 1 {
		size = bigRecordSize + 8*w
	}
	return bytes.Repeat([]byte{byte('a' + w)}, size)
}

// checkShared reports unless data is one whole write of a worker.
func checkShared(t tester, id string, data []byte) bool {
	if len(data) == 0 || data[0] < 'a' || data[0] >= 'a'+workers ||
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
	s.concurrentMix(t, st, func(*rand.Rand) time.Time { return time.Now().Add(longLife) })
}

// concurrentExpired writes records that expire during the run, or have
// already, beside the live ones: a store that removes expired records as it
// meets them must do so as safely as it writes.
func (s *suite) concurrentExpired(t tester, st *store) {
	s.concurrentMix(t, st, func(rng *rand.Rand) time.Time {
		switch rng.IntN(3) {
		case 0:
			return time.Now().Add(-time.Second)
		case 1:
			return time.Now().Add(time.Duration(rng.IntN(2000)) * time.Microsecond)
		}
		return time.Now().Add(longLife)
	})
}

// concurrentResave checks that the removal of an expired record, by a Load
// that meets it, never removes the live record saved over it meanwhile.
// Workers go in pairs over one id: the writer saves a record that expires
// at once, lets it expire, saves a live one and must find it, round after
// round, while the reader loads the id without pause.
func (s *suite) concurrentResave(t tester, st *store) {
	ctx := t.Context()
	var done [workers]atomic.Bool
	parallel(func(w int) {
		id := fmt.Sprintf("owned %d", w/2)
		if w%2 == 1 { // the reader
			for !done[w-1].Load() {
				if _, _, err := st.Load(ctx, id); err != nil {
					t.Errorf("Load(%q) = %v", id, err)
					return
				}
			}
			return
		}
		defer done[w].Store(true)
		live := sharedRecord(w)
		began := time.Now()
		for i := 0; i < resaveRounds || (i < resaveMaxRounds && time.Since(began) < resaveBudget); i++ {
			expiry := time.Now().Add(100 * time.Microsecond)
			if err := st.Save(ctx, id, payload(id, 10), expiry); err != nil {
				t.Errorf("Save(%q) = %v", id, err)
				return
			}
			for time.Now().Before(expiry.Add(s.h.ExpiryPrecision)) {
				runtime.Gosched()
			}
			if err := st.Save(ctx, id, live, time.Now().Add(longLife)); err != nil {
				t.Errorf("Save(%q) = %v", id, err)
				return
			}
			rec, found, err := st.Load(ctx, id)
			if err != nil || !found || !bytes.Equal(rec.Data, live) {
				t.Errorf("round %d: Load(%q) right after saving a live record = %s, found %v, %v; want the record",
					i, id, describe(rec.Data), found, err)
				return
			}
		}
	})
}

// Each writer of concurrentResave saves resaveRounds times, then more, up
// to resaveMaxRounds, while within resaveBudget.
const (
	resaveRounds    = 10
	resaveMaxRounds = 200
	resaveBudget    = 300 * time.Millisecond
)

// concurrentMix runs every method of st in parallel on shared ids, saving
// with the expiries expiry returns.
func (s *suite) concurrentMix(t tester, st *store, expiryOf func(*rand.Rand) time.Time) {
	ctx := t.Context()
	calls := ops(st)
	parallel(func(w int) {
		rng := rand.New(rand.NewPCG(uint64(w), 11))
		for range opsPerWorker {
			expiry := expiryOf(rng)
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
			case "Touch":
				_, err = st.toucher.Touch(ctx, id, expiry)
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
	short := fmt.Sprintf("saved to expire in %v is found %v before and gone %v after",
		shortLife, nearExpiry, s.h.ExpiryPrecision+clockSlack)
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
		return s.foundThenGone(t, st, life, time.Second, time.Second)
	})
}

func (s *suite) expiryShort(t tester, st *store) {
	beforeExpiry(t, shortLives, func(life time.Duration) bool {
		return s.foundThenGone(t, st, life, margin(life), s.h.ExpiryPrecision+clockSlack)
	})
}

// foundThenGone saves a record to live for life, checks that it is found
// foundBefore its expiry and gone goneAfter it. It returns false when the
// machine was too slow to load the record before its expiry.
func (s *suite) foundThenGone(t tester, st *store, life, foundBefore, goneAfter time.Duration) bool {
	id := fmt.Sprintf("lives %v", life)
	data, expiry := payload(id, 32), time.Now().Add(life)
	s.save(t, st, id, data, expiry)
	if !s.foundUntil(t, st, id, data, expiry, foundBefore) {
		return false
	}
	sleepUntil(t, expiry.Add(goneAfter))
	s.wantGone(t, st, id)
	return true
}

// margin is how long before the expiry of a record saved to live for life
// the suite checks it is found: nearExpiry, and more for the longer lives
// tried on a machine too loaded to load in time (see shortLives). Only those
// retries are looser: a store dropping records early fails the first
// attempt whenever its Load returned in time.
func margin(life time.Duration) time.Duration {
	switch {
	case life > 4*shortLife:
		return life / 10
	case life > 2*shortLife:
		return 2 * nearExpiry
	}
	return nearExpiry
}

// foundNear checks that id, saved with data to expire in life at expiry,
// is found margin(life) before that. It returns false when the Load
// returned too close to the expiry to tell.
func (s *suite) foundNear(t tester, st *store, id string, data []byte, life time.Duration, expiry time.Time) bool {
	t.Helper()
	return s.foundUntil(t, st, id, data, expiry, margin(life))
}

// foundUntil is foundNear, before expiry by before.
func (s *suite) foundUntil(t tester, st *store, id string, data []byte, expiry time.Time, before time.Duration) bool {
	t.Helper()
	sleepUntil(t, expiry.Add(-before))
	rec, found := s.load(t, st, id)
	if left := time.Until(expiry); left < clockSlack {
		return false // the Load may have reached the store after the expiry
	}
	if !found || !bytes.Equal(rec.Data, data) {
		t.Errorf("Load %v before the expiry = %s, found %v; want %s: a record is never gone before its expiry",
			before, describe(rec.Data), found, describe(data))
	}
	return true
}

func (s *suite) expiryFar(t tester, st *store) {
	// memcached reads a relative expiration over 30 days as a Unix time in
	// 1970: the record would be gone at once.
	data, expiry := payload("far", 32), time.Now().Add(31*24*time.Hour)
	s.save(t, st, "far", data, expiry)
	s.wantRecord(t, st, "far", data, expiry)
}
