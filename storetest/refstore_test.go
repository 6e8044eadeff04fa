package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sessionstore/sessionstore"
)

// refStore is the suite's reference: a map under one mutex implementing
// every capability, correctly unless a fault is set. Each fault breaks one
// rule the way real stores get it wrong; the suite must catch each.
type refStore struct {
	tab    *table // shared between stores only by faultSharedTable
	prefix string // of every key, with a table shared by faultConcatenatesNames
	fault  fault
	closes atomic.Int32

	stop     chan struct{} // closed by Close, to stop the background goroutine
	stopOnce sync.Once
}

// table is what a refStore keeps.
type table struct {
	mu      sync.Mutex
	records map[string]refRecord
	version uint64 // the last version handed out
}

type refRecord struct {
	id     string // as given to Save, for Iterate
	data   []byte
	expiry time.Time
	ver    uint64
	saved  time.Time // the expiry of the last Save, for faultCountMissesTouch
}

// refMaxDataSize is the reference store's documented maximum.
const refMaxDataSize = minMaxDataSize

type fault int

const (
	noFault fault = iota
	faultReturnsExpired
	faultIgnoresPastExpiry
	faultExpiresEarly
	faultExpiryLost
	faultDeleteMissingFails
	faultIgnoresContext
	faultSharedTable
	faultKeepsCallerSlice
	faultReturnsOwnSlice
	faultAcceptsOversize
	faultOversizeLosesRecord
	faultRejectsOddIDs
	faultNaiveEscaping
	faultCutsLongIDs
	faultNoIDCheck
	faultIDErrorUnwrapped
	faultRacyCompareAndSwap
	faultSaveKeepsVersion
	faultZeroVersion
	faultSwapZeroSeesExpired
	faultTouchCreates
	faultIterateExpired
	faultIterateIgnoresStop
	faultIterateIgnoresContext
	faultCountExpired
	faultCloseTwicePanics
	faultPanicsAfterClose

	// Faults added for issue 13, the gaps found by broken stores the suite
	// had never seen.
	faultStaleLoad             // returns records up to 150 ms past their expiry
	faultDropsEarly            // drops records 70 ms before their expiry
	faultSecondsBoundary       // compares expiries in whole seconds, with <
	faultZeroExpiryNever       // reads a zero expiry as "never"
	faultFarFutureGone         // overflows UnixNano after 2262: gone at once
	faultKeepsBigCallerSlice   // keeps the caller's slice over 8 KiB
	faultReturnsOwnBigSlice    // returns its own slice over 8 KiB
	faultTornBigRead           // copies big data in two halves, unlocking between
	faultContextAfterLookup    // checks the context only when a record is found
	faultColonToUnderscore     // keeps "a:b" under "a_b"
	faultCutsIDsTo255          // cuts ids to 255 bytes
	faultCountsRunes           // checks the id length in characters
	faultFoldsNames            // lower-cases store names, ':' and '-' become '_'
	faultCutsNamesTo63         // cuts store names to 63 bytes
	faultConcatenatesNames     // one table, keys are name+id
	faultSwapDeleteAnyVersion  // a swap into the past deletes whatever the version
	faultSwapMatchesExpired    // swaps over the version of an expired record
	faultVersionsRestart       // counts versions per record, from 1 after a delete
	faultGreaterVersionWins    // swaps over any version at least the current one
	faultRacyNoSleep           // checks and sets a swap under two lock holds
	faultTouchPastReportsFalse // reports false when a Touch removes the record
	faultTouchSameReportsFalse // reports "changed" rather than "found"
	faultCountMissesTouch      // Count reads the expiry saved, not the touched one
	faultIterateDropsMeta      // Iterate gives zero Expiry and Version
	faultIterateSkipsEmpty     // Iterate and Count skip records with empty data
	faultClosedDropsWrites     // after Close, writes answer nil and do nothing
	faultLeaksGoroutine        // Close leaves its goroutine running
	faultRemovesExpiredRacily  // a Load meeting an expired record deletes the id later
	faultLosesDeadlineMidCall  // reports a deadline passing during a call as a closed connection
)

// ref returns s, for the wrappers a test puts around a refStore.
func (s *refStore) ref() *refStore { return s }

func newTable() *table { return &table{records: make(map[string]refRecord)} }

func newRefStore(f fault) *refStore {
	return &refStore{tab: newTable(), fault: f, stop: make(chan struct{})}
}

// begin checks what every method checks first: the context and the id.
func (s *refStore) begin(ctx context.Context, op, id string) error {
	if s.fault == faultPanicsAfterClose && s.closes.Load() > 0 {
		panic("refstore: used after Close")
	}
	if err := ctx.Err(); err != nil && s.fault != faultIgnoresContext && s.fault != faultContextAfterLookup {
		return fmt.Errorf("refstore: %s: %w", op, err)
	}
	if s.fault == faultLosesDeadlineMidCall {
		// A round trip, cut by the deadline the way some drivers report it.
		time.Sleep(200 * time.Microsecond)
		if ctx.Err() != nil {
			return fmt.Errorf("refstore: %s: connection closed", op)
		}
	}
	if op == "iterate" || op == "count" {
		return nil
	}
	if err := ctx.Err(); err != nil && s.fault == faultContextAfterLookup {
		s.tab.mu.Lock()
		_, found := s.live(id, time.Now())
		s.tab.mu.Unlock()
		if found {
			return fmt.Errorf("refstore: %s: %w", op, err)
		}
	}
	err := sessionstore.CheckID(id)
	if s.fault == faultCountsRunes && id != "" && utf8.RuneCountInString(id) <= sessionstore.MaxIDLength {
		err = nil
	}
	switch {
	case err == nil && s.fault == faultRejectsOddIDs && (!utf8.ValidString(id) || strings.ContainsAny(id, "\x00\r\n")):
		return fmt.Errorf("refstore: %s: id is not valid text", op)
	case err == nil || s.fault == faultNoIDCheck:
		return nil
	case s.fault == faultIDErrorUnwrapped:
		return fmt.Errorf("refstore: %s: bad id", op)
	}
	return fmt.Errorf("refstore: %s: %w", op, err)
}

// key is where id is kept.
func (s *refStore) key(id string) string {
	switch s.fault {
	case faultNaiveEscaping:
		return strings.NewReplacer(":", `\x3a`, " ", "_").Replace(id)
	case faultCutsLongIDs:
		return id[:min(len(id), 250)]
	case faultCutsIDsTo255:
		return id[:min(len(id), 255)]
	case faultColonToUnderscore:
		return strings.ReplaceAll(id, ":", "_")
	}
	return s.prefix + id
}

// lookupCtx is the context check of faultContextAfterLookup, made only once
// a record was found.
func (s *refStore) lookupCtx(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil && s.fault == faultContextAfterLookup {
		return fmt.Errorf("refstore: %s: %w", op, err)
	}
	return nil
}

// expired reports whether a record expiring at expiry is gone at now.
func (s *refStore) expired(expiry, now time.Time) bool {
	switch s.fault {
	case faultStaleLoad:
		return !now.Before(expiry.Add(150 * time.Millisecond))
	case faultDropsEarly:
		return !now.Before(expiry.Add(-70 * time.Millisecond))
	case faultSecondsBoundary:
		return expiry.Unix() < now.Unix()
	case faultZeroExpiryNever:
		if expiry.IsZero() {
			return false
		}
	case faultFarFutureGone:
		if expiry.After(sessionstore.MaxExpiry) {
			return true
		}
	}
	return !now.Before(expiry)
}

// live returns the live record of id; the lock is held.
func (s *refStore) live(id string, now time.Time) (refRecord, bool) {
	r, ok := s.tab.records[s.key(id)]
	if !ok || (s.expired(r.expiry, now) && s.fault != faultReturnsExpired) {
		return refRecord{}, false
	}
	return r, true
}

// nextVersion returns a new version; the lock is held.
func (s *refStore) nextVersion() uint64 {
	s.tab.version++
	return s.tab.version
}

// put writes a record, or removes it when the expiry has passed; the lock
// is held.
func (s *refStore) put(id string, data []byte, expiry time.Time, ver uint64) {
	if s.expired(expiry, time.Now()) {
		delete(s.tab.records, s.key(id))
		return
	}
	if s.fault != faultKeepsCallerSlice && (s.fault != faultKeepsBigCallerSlice || len(data) <= 8<<10) {
		data = bytes.Clone(data)
	}
	if s.fault == faultExpiresEarly {
		expiry = time.Now().Add(time.Until(expiry) / 4)
	}
	s.tab.records[s.key(id)] = refRecord{id: id, data: data, expiry: expiry, ver: ver, saved: expiry}
}

func (s *refStore) tooLarge(op string, data []byte) error {
	if len(data) <= refMaxDataSize || s.fault == faultAcceptsOversize {
		return nil
	}
	return fmt.Errorf("refstore: %s: %d bytes: %w", op, len(data), sessionstore.ErrTooLarge)
}

func (s *refStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := s.begin(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	if s.fault == faultRemovesExpiredRacily {
		s.removeExpired(id)
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	r, ok := s.live(id, time.Now())
	if !ok {
		return sessionstore.Record{}, false, nil
	}
	rec := sessionstore.Record{Data: r.data, Expiry: r.expiry, Version: r.ver}
	switch {
	case s.fault == faultTornBigRead && len(r.data) > 8<<10:
		rec.Data = s.tornCopy(id, r.data)
	case s.fault != faultReturnsOwnSlice && (s.fault != faultReturnsOwnBigSlice || len(r.data) <= 8<<10):
		rec.Data = bytes.Clone(r.data)
	}
	switch s.fault {
	case faultZeroVersion:
		rec.Version = 0
	case faultExpiryLost:
		rec.Expiry = time.Time{}
	}
	return rec, true, nil
}

// removeExpired is the expired-record removal of faultRemovesExpiredRacily:
// it sees the record expired under one hold of the lock and deletes the id
// under another, by which time a live record may have been saved there.
func (s *refStore) removeExpired(id string) {
	s.tab.mu.Lock()
	r, ok := s.tab.records[s.key(id)]
	s.tab.mu.Unlock()
	if !ok || !s.expired(r.expiry, time.Now()) {
		return
	}
	runtime.Gosched() // the gap a read lock upgraded to a write lock leaves
	s.tab.mu.Lock()
	delete(s.tab.records, s.key(id))
	s.tab.mu.Unlock()
}

// tornCopy copies data, the big data of id, in two halves, letting go of
// the lock (which the caller holds) between them: a Save in between tears
// the copy.
func (s *refStore) tornCopy(id string, data []byte) []byte {
	half := len(data) / 2
	out := append([]byte(nil), data[:half]...)
	s.tab.mu.Unlock()
	runtime.Gosched()
	s.tab.mu.Lock()
	if r, ok := s.tab.records[s.key(id)]; ok && len(r.data) > half {
		data = r.data
	}
	return append(out, data[half:]...)
}

func (s *refStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save", id); err != nil {
		return err
	}
	if s.fault == faultClosedDropsWrites && s.closes.Load() > 0 {
		return nil
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if err := s.tooLarge("save", data); err != nil {
		if s.fault == faultOversizeLosesRecord {
			delete(s.tab.records, s.key(id))
		}
		return err
	}
	if s.fault == faultIgnoresPastExpiry && !time.Now().Before(expiry) {
		return nil
	}
	ver := s.nextVersion()
	if r, ok := s.live(id, time.Now()); ok && s.fault == faultSaveKeepsVersion {
		ver = r.ver
	}
	if s.fault == faultVersionsRestart {
		ver = s.restartedVersion(id)
	}
	s.put(id, data, expiry, ver)
	return nil
}

// restartedVersion is the next version of id under faultVersionsRestart:
// one more than the live record's, or 1. The lock is held.
func (s *refStore) restartedVersion(id string) uint64 {
	r, _ := s.live(id, time.Now())
	return r.ver + 1
}

func (s *refStore) Delete(ctx context.Context, id string) error {
	if err := s.begin(ctx, "delete", id); err != nil {
		return err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if _, ok := s.tab.records[s.key(id)]; !ok && s.fault == faultDeleteMissingFails {
		return errors.New("refstore: delete: no such id")
	}
	if s.fault == faultClosedDropsWrites && s.closes.Load() > 0 {
		return nil
	}
	delete(s.tab.records, s.key(id))
	return nil
}

func (s *refStore) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "touch", id); err != nil {
		return false, err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	r, ok := s.live(id, time.Now())
	if !ok {
		if s.fault == faultTouchCreates {
			s.put(id, nil, expiry, s.nextVersion())
		}
		return false, nil
	}
	if s.fault == faultTouchSameReportsFalse && r.expiry.Equal(expiry) {
		return false, nil
	}
	s.put(id, r.data, expiry, r.ver)
	if rr, ok := s.tab.records[s.key(id)]; ok && s.fault == faultCountMissesTouch {
		rr.saved = r.saved
		s.tab.records[s.key(id)] = rr
	}
	if s.fault == faultTouchPastReportsFalse && s.expired(expiry, time.Now()) {
		return false, nil
	}
	return true, nil
}

func (s *refStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "compare and swap", id); err != nil {
		return false, err
	}
	if err := s.tooLarge("compare and swap", data); err != nil {
		return false, err
	}
	if s.fault == faultClosedDropsWrites && s.closes.Load() > 0 {
		return true, nil
	}
	if s.fault == faultRacyCompareAndSwap || s.fault == faultRacyNoSleep {
		return s.racyCompareAndSwap(id, version, data, expiry), nil
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if !s.matches(id, version) && (s.fault != faultSwapDeleteAnyVersion || !s.expired(expiry, time.Now())) {
		return false, nil
	}
	ver := s.nextVersion()
	if s.fault == faultVersionsRestart {
		ver = s.restartedVersion(id)
	}
	s.put(id, data, expiry, ver)
	return true, nil
}

// matches reports whether version is that of the live record of id (0: no
// live record); the lock is held.
func (s *refStore) matches(id string, version uint64) bool {
	stored, ok := s.tab.records[s.key(id)]
	switch {
	case s.fault == faultSwapMatchesExpired && ok && version != 0:
		return stored.ver == version
	case s.fault == faultGreaterVersionWins && version != 0:
		r, live := s.live(id, time.Now())
		return live && version >= r.ver
	}
	return s.currentVersion(id) == version
}

// currentVersion is the version of the live record of id, 0 if none; the
// lock is held.
func (s *refStore) currentVersion(id string) uint64 {
	if s.fault == faultSwapZeroSeesExpired {
		return s.tab.records[s.key(id)].ver
	}
	r, _ := s.live(id, time.Now())
	return r.ver
}

// racyCompareAndSwap checks and sets under two separate holds of the lock:
// every racer that checks before the first one sets wins.
func (s *refStore) racyCompareAndSwap(id string, version uint64, data []byte, expiry time.Time) bool {
	s.tab.mu.Lock()
	match := s.currentVersion(id) == version
	s.tab.mu.Unlock()
	if !match {
		return false
	}
	if s.fault == faultRacyCompareAndSwap {
		time.Sleep(5 * time.Millisecond) // a round trip between the check and the set
	}
	// As a Save called after a Load would, copy the data before taking the
	// lock, so that a big copy does not block the table.
	data = bytes.Clone(data)
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	s.put(id, data, expiry, s.nextVersion())
	return true
}

func (s *refStore) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := s.begin(ctx, "iterate", ""); err != nil {
		return err
	}
	// Visit a copy, so that fn may call the store.
	var recs []refRecord
	s.tab.mu.Lock()
	now := time.Now()
	for key, r := range s.tab.records {
		if !strings.HasPrefix(key, s.prefix) || (s.fault == faultIterateSkipsEmpty && len(r.data) == 0) {
			continue
		}
		if !s.expired(r.expiry, now) || s.fault == faultIterateExpired {
			r.data = bytes.Clone(r.data)
			recs = append(recs, r)
		}
	}
	s.tab.mu.Unlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil && s.fault != faultIterateIgnoresContext {
			return fmt.Errorf("refstore: iterate: %w", err)
		}
		rec := sessionstore.Record{Data: r.data, Expiry: r.expiry, Version: r.ver}
		if s.fault == faultIterateDropsMeta {
			rec.Expiry, rec.Version = time.Time{}, 0
		}
		more := fn(r.id, rec)
		if !more && s.fault != faultIterateIgnoresStop {
			return nil
		}
	}
	return nil
}

func (s *refStore) Count(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "count", ""); err != nil {
		return 0, err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	n := 0
	now := time.Now()
	for key, r := range s.tab.records {
		if !strings.HasPrefix(key, s.prefix) || (s.fault == faultIterateSkipsEmpty && len(r.data) == 0) {
			continue
		}
		expiry := r.expiry
		if s.fault == faultCountMissesTouch {
			expiry = r.saved
		}
		if !s.expired(expiry, now) || s.fault == faultCountExpired {
			n++
		}
	}
	if n > 0 {
		if err := s.lookupCtx(ctx, "count"); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Close stops the store's background goroutine; the store keeps serving.
func (s *refStore) Close() error {
	if s.closes.Add(1) > 1 && s.fault == faultCloseTwicePanics {
		panic("refstore: closed twice")
	}
	if s.fault != faultLeaksGoroutine {
		s.stopOnce.Do(func() { close(s.stop) })
	}
	return nil
}

// background is the store's goroutine: it only waits to be stopped, by
// Close or, under faultLeaksGoroutine, by the end of the test.
func (s *refStore) background(ended <-chan struct{}) {
	select {
	case <-s.stop:
	case <-ended:
	}
}

// deadStore is the reference for an unreachable database: every call dials
// a closed port, as a real client would, and fails with what the dial says.
type deadStore struct {
	addr  string
	fault fault
	ended chan struct{} // closed when the test ends, for faultDeadHangs
}

const (
	noDeadFault fault = iota
	// faultDeadFound reports found (or swapped) along with the error.
	faultDeadFound
	// faultDeadSilent hides the error: everything looks missing.
	faultDeadSilent
	// faultDeadHangs ignores the context while it waits.
	faultDeadHangs
	// faultDeadSlow returns 1.2 s after the context's deadline, as a store
	// waiting on a network timeout of its own does.
	faultDeadSlow
)

// closedAddr returns an address where nothing listens.
func closedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dial is the round trip every method starts with.
func (s *deadStore) dial(ctx context.Context, op string) error {
	if s.fault == faultDeadHangs {
		<-s.ended
		ctx = context.Background()
	}
	if s.fault == faultDeadSlow {
		<-ctx.Done()
		select {
		case <-time.After(1200 * time.Millisecond):
		case <-s.ended:
		}
		return fmt.Errorf("deadstore: %s: %w", op, ctx.Err())
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	if err == nil {
		conn.Close()
		err = errors.New("something answered on a closed port")
	}
	if s.fault == faultDeadSilent {
		return nil
	}
	return fmt.Errorf("deadstore: %s: %w", op, err)
}

func (s *deadStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	err := s.dial(ctx, "load")
	return sessionstore.Record{}, s.fault == faultDeadFound, err
}

func (s *deadStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	return s.dial(ctx, "save")
}

func (s *deadStore) Delete(ctx context.Context, id string) error {
	return s.dial(ctx, "delete")
}

func (s *deadStore) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	err := s.dial(ctx, "touch")
	return s.fault == faultDeadFound, err
}

func (s *deadStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	err := s.dial(ctx, "compare and swap")
	return s.fault == faultDeadFound, err
}

func (s *deadStore) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	return s.dial(ctx, "iterate")
}

func (s *deadStore) Count(ctx context.Context) (int, error) {
	return 0, s.dial(ctx, "count")
}

func (s *deadStore) Close() error { return nil }

// refHarness describes the reference store with a fault (noFault for the
// correct one) and its unreachable twin with a dead fault.
func refHarness(f, dead fault) Harness {
	shared := newTable() // used by faultSharedTable only
	start := func(t testing.TB, s *refStore) *refStore {
		ended := make(chan struct{})
		go s.background(ended)
		t.Cleanup(func() {
			s.Close()
			close(ended)
		})
		return s
	}
	// The tables of the named stores, by name as the store keeps it.
	var mu sync.Mutex
	named := make(map[string]*table)
	return Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			s := newRefStore(f)
			if f == faultSharedTable {
				s.tab = shared
			}
			return start(t, s)
		},
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			s := newRefStore(f)
			switch f {
			case faultFoldsNames:
				name = strings.NewReplacer(":", "_", "-", "_").Replace(strings.ToLower(name))
			case faultCutsNamesTo63:
				name = name[:min(len(name), 63)]
			case faultConcatenatesNames:
				s.prefix, name = name, ""
			}
			mu.Lock()
			defer mu.Unlock()
			if named[name] == nil {
				named[name] = newTable()
			}
			s.tab = named[name]
			return start(t, s)
		},
		// Another handle on a store's table: a store of its own over the
		// same table, prefix and version counter.
		OpenAgain: func(t testing.TB, st sessionstore.Store) sessionstore.Store {
			old, ok := st.(*refStore)
			if !ok { // a test's wrapper around one (slowLoadStore)
				old = st.(interface{ ref() *refStore }).ref()
			}
			s := newRefStore(f)
			s.tab, s.prefix = old.tab, old.prefix
			return start(t, s)
		},
		NestedNames: true,
		MaxDataSize: refMaxDataSize,
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			s := &deadStore{addr: closedAddr(t), fault: dead, ended: make(chan struct{})}
			t.Cleanup(func() { close(s.ended) })
			return s
		},
	}
}
