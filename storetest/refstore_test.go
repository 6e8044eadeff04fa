package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
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
	fault  fault
	closes atomic.Int32
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
	faultOverwritesInPlace
)

func newTable() *table { return &table{records: make(map[string]refRecord)} }

func newRefStore(f fault) *refStore { return &refStore{tab: newTable(), fault: f} }

// begin checks what every method checks first: the context and the id.
func (s *refStore) begin(ctx context.Context, op, id string) error {
	if s.fault == faultPanicsAfterClose && s.closes.Load() > 0 {
		panic("refstore: used after Close")
	}
	if err := ctx.Err(); err != nil && s.fault != faultIgnoresContext {
		return fmt.Errorf("refstore: %s: %w", op, err)
	}
	if op == "iterate" || op == "count" {
		return nil
	}
	err := sessionstore.CheckID(id)
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
	}
	return id
}

// live returns the live record of id; the lock is held.
func (s *refStore) live(id string, now time.Time) (refRecord, bool) {
	r, ok := s.tab.records[s.key(id)]
	if !ok || (!now.Before(r.expiry) && s.fault != faultReturnsExpired) {
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
	s.putShared(id, data, expiry, ver, false)
}

// putShared is put keeping data itself when shared is set (Sharer).
func (s *refStore) putShared(id string, data []byte, expiry time.Time, ver uint64, shared bool) {
	if !time.Now().Before(expiry) {
		delete(s.tab.records, s.key(id))
		return
	}
	old, had := s.tab.records[s.key(id)]
	switch {
	case s.fault == faultOverwritesInPlace && had && len(old.data) == len(data) && len(data) > 0:
		// Spares an allocation, and changes bytes a LoadShared handed out.
		copy(old.data, data)
		data = old.data
	case !shared && s.fault != faultKeepsCallerSlice:
		data = bytes.Clone(data)
	}
	if s.fault == faultExpiresEarly {
		expiry = time.Now().Add(time.Until(expiry) / 4)
	}
	s.tab.records[s.key(id)] = refRecord{id: id, data: data, expiry: expiry, ver: ver}
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
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	r, ok := s.live(id, time.Now())
	if !ok {
		return sessionstore.Record{}, false, nil
	}
	rec := sessionstore.Record{Data: r.data, Expiry: r.expiry, Version: r.ver}
	if s.fault != faultReturnsOwnSlice {
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

// LoadShared is Load without the copy: records are never modified in place.
func (s *refStore) LoadShared(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := s.begin(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	r, ok := s.live(id, time.Now())
	if !ok {
		return sessionstore.Record{}, false, nil
	}
	data := r.data
	if data == nil {
		data = []byte{}
	}
	return sessionstore.Record{Data: data, Expiry: r.expiry, Version: r.ver}, true, nil
}

// SaveShared is Save keeping data itself.
func (s *refStore) SaveShared(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save", id); err != nil {
		return err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if err := s.tooLarge("save", data); err != nil {
		return err
	}
	s.putShared(id, data, expiry, s.nextVersion(), true)
	return nil
}

// CompareAndSwapShared is CompareAndSwap keeping data itself.
func (s *refStore) CompareAndSwapShared(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "compare and swap", id); err != nil {
		return false, err
	}
	if err := s.tooLarge("compare and swap", data); err != nil {
		return false, err
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if s.currentVersion(id) != version {
		return false, nil
	}
	s.putShared(id, data, expiry, s.nextVersion(), true)
	return true, nil
}

func (s *refStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save", id); err != nil {
		return err
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
	s.put(id, data, expiry, ver)
	return nil
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
	s.put(id, r.data, expiry, r.ver)
	return true, nil
}

func (s *refStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "compare and swap", id); err != nil {
		return false, err
	}
	if err := s.tooLarge("compare and swap", data); err != nil {
		return false, err
	}
	if s.fault == faultRacyCompareAndSwap {
		return s.racyCompareAndSwap(id, version, data, expiry), nil
	}
	s.tab.mu.Lock()
	defer s.tab.mu.Unlock()
	if s.currentVersion(id) != version {
		return false, nil
	}
	s.put(id, data, expiry, s.nextVersion())
	return true, nil
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

// racyCompareAndSwap checks and sets under two separate locks: every racer
// that checks before the first one sets wins.
func (s *refStore) racyCompareAndSwap(id string, version uint64, data []byte, expiry time.Time) bool {
	s.tab.mu.Lock()
	match := s.currentVersion(id) == version
	s.tab.mu.Unlock()
	if !match {
		return false
	}
	time.Sleep(5 * time.Millisecond) // a round trip between the check and the set
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
	for _, r := range s.tab.records {
		if now.Before(r.expiry) || s.fault == faultIterateExpired {
			r.data = bytes.Clone(r.data)
			recs = append(recs, r)
		}
	}
	s.tab.mu.Unlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil && s.fault != faultIterateIgnoresContext {
			return fmt.Errorf("refstore: iterate: %w", err)
		}
		more := fn(r.id, sessionstore.Record{Data: r.data, Expiry: r.expiry, Version: r.ver})
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
	for _, r := range s.tab.records {
		if now.Before(r.expiry) || s.fault == faultCountExpired {
			n++
		}
	}
	return n, nil
}

// Close has no background work to stop: the store keeps serving.
func (s *refStore) Close() error {
	if s.closes.Add(1) > 1 && s.fault == faultCloseTwicePanics {
		panic("refstore: closed twice")
	}
	return nil
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
	return Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			s := newRefStore(f)
			if f == faultSharedTable {
				s.tab = shared
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		MaxDataSize: refMaxDataSize,
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			s := &deadStore{addr: closedAddr(t), fault: dead, ended: make(chan struct{})}
			t.Cleanup(func() { close(s.ended) })
			return s
		},
	}
}
