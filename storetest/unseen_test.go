package storetest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// The unseen stores of issue 28: broken stores written after reading
// store.go afresh, before the suite was checked against a model, none of
// them one of refstore_test.go's faults. Each breaks one sentence of the
// contract the way a real store gets it wrong. TestUnseen runs the whole
// suite on each and reports which it catches; docs/testing.md keeps the
// figures (before the model: 2 of 20; after: 20 of 20).

// unseenFault is one bug of an unseen store.
type unseenFault int

const (
	unseenNone unseenFault = iota
	// CompareAndSwap checks the size with >= where Save uses >: data of
	// exactly MaxDataSize fails there.
	unseenSwapMaxOffByOne
	// CompareAndSwap of empty data deletes the record, as if "no data"
	// meant "no session", yet reports that it wrote.
	unseenSwapEmptyDeletes
	// CompareAndSwap compares the version before it checks the size: an
	// oversized swap that loses reports false with a nil error.
	unseenLosingOversizeSwap
	// Load hands out a buffer of its pool of 4 KiB buffers (for data of 65
	// bytes to 4 KiB) that Save later reuses to encode its data.
	unseenLoadBufferReused
	// Expiries are written as text with a four-digit year: any past 9999
	// fails with an error.
	unseenYear10000Fails
	// Expiries are kept in nanoseconds rounded up to the millisecond, an
	// addition that overflows within 1 ms of MaxExpiry (clamped after it).
	unseenNearMaxOverflows
	// Touch into the past reports true whether or not a record was there.
	unseenTouchPastAlwaysTrue
	// A conditional delete leaves a tombstone that Touch takes for a live
	// record and revives.
	unseenTouchRevivesTombstone
	// Each handle numbers versions from its own counter, starting at the
	// same number: two handles on the same data hand out the same versions.
	unseenVersionPerHandle
	// Version 0 over an expired record not yet purged writes the data but
	// keeps the old version.
	unseenSwapZeroKeepsExpiredVersion
	// Records created by CompareAndSwap never enter the index that Iterate
	// and Count read.
	unseenIndexMissesSwapCreated
	// CompareAndSwap writes the record but not its expiry into the index
	// that Iterate and Count read.
	unseenIndexMissesSwapExpiry
	// Ids are keys with trailing NUL bytes trimmed, as a C string would.
	unseenTrimsTrailingNUL
	// Ids are keys with their invalid UTF-8 bytes dropped.
	unseenDropsInvalidUTF8
	// An ended context is reported with context.Cause, which is not
	// ctx.Err() when the context was ended with a cause of its own.
	unseenWrapsCause
	// A record loaded in the last second is answered from a cache before
	// the context is looked at.
	unseenCacheIgnoresContext
	// After Close, writes go to a buffer of the handle that is never
	// flushed, while its own Loads read them back.
	unseenClosedWritesBuffered
	// Each handle caches what it loaded for a second, whatever another
	// handle writes meanwhile.
	unseenHandleCaches
	// A CompareAndSwap whose data is what is stored skips the write and
	// keeps the version, reporting true.
	unseenSwapSameDataKeepsVersion
	// A conditional delete with version 0 of an id with no live record
	// reports false: nothing was written.
	unseenSwapZeroDeleteFalse

	unseenCount
)

var unseenNames = map[unseenFault]string{
	unseenSwapMaxOffByOne:             "CompareAndSwap refuses data of exactly MaxDataSize",
	unseenSwapEmptyDeletes:            "CompareAndSwap of empty data deletes the record",
	unseenLosingOversizeSwap:          "a losing CompareAndSwap of oversized data reports false, nil",
	unseenLoadBufferReused:            "Load's Data is a buffer a later Save reuses",
	unseenYear10000Fails:              "an expiry past the year 9999 fails",
	unseenNearMaxOverflows:            "an expiry within 1 ms of MaxExpiry overflows",
	unseenTouchPastAlwaysTrue:         "Touch into the past reports true on a missing id",
	unseenTouchRevivesTombstone:       "Touch revives a conditionally deleted record",
	unseenVersionPerHandle:            "two handles hand out the same versions",
	unseenSwapZeroKeepsExpiredVersion: "version 0 over an expired record keeps its version",
	unseenIndexMissesSwapCreated:      "Iterate and Count miss records created by CompareAndSwap",
	unseenIndexMissesSwapExpiry:       "Iterate and Count keep the expiry from before a CompareAndSwap",
	unseenTrimsTrailingNUL:            "ids lose trailing NUL bytes",
	unseenDropsInvalidUTF8:            "ids lose their invalid UTF-8 bytes",
	unseenWrapsCause:                  "an ended context is reported by its cause, not ctx.Err()",
	unseenCacheIgnoresContext:         "a Load cache answers an ended context",
	unseenClosedWritesBuffered:        "after Close, writes answer nil and are never stored",
	unseenHandleCaches:                "a handle serves what it loaded, whatever another wrote",
	unseenSwapSameDataKeepsVersion:    "CompareAndSwap of the stored data keeps the version",
	unseenSwapZeroDeleteFalse:         "a version-0 conditional delete of a missing id reports false",
}

// unseenDB is the data that handles of an unseen store share, as clients of
// one database server do.
type unseenDB struct {
	mu      sync.Mutex
	rows    map[string]unseenRow
	index   map[string]time.Time // id → expiry, what Iterate and Count read
	version uint64
}

type unseenRow struct {
	id        string
	data      []byte
	expiry    time.Time
	ver       uint64
	tombstone bool // left by a conditional delete, under unseenTouchRevivesTombstone
}

// unseenStore is one handle on an unseenDB: correct unless fault is set.
type unseenStore struct {
	db    *unseenDB
	fault unseenFault

	mu      sync.Mutex
	closed  bool
	counter uint64                         // unseenVersionPerHandle
	pool    [][]byte                       // unseenLoadBufferReused: buffers Save takes
	cache   map[string]unseenCached        // unseenCacheIgnoresContext, unseenHandleCaches
	pending map[string]sessionstore.Record // unseenClosedWritesBuffered
}

type unseenCached struct {
	rec sessionstore.Record
	at  time.Time
}

// unseenMaxDataSize is the unseen stores' documented maximum.
const unseenMaxDataSize = minMaxDataSize

func newUnseenStore(db *unseenDB, f unseenFault) *unseenStore {
	return &unseenStore{db: db, fault: f, cache: map[string]unseenCached{}, pending: map[string]sessionstore.Record{}}
}

func (s *unseenStore) key(id string) string {
	switch s.fault {
	case unseenTrimsTrailingNUL:
		return strings.TrimRight(id, "\x00")
	case unseenDropsInvalidUTF8:
		return strings.ToValidUTF8(id, "")
	}
	return id
}

func (s *unseenStore) begin(ctx context.Context, op, id string, takesID bool) error {
	if ctx.Err() != nil {
		if s.fault == unseenWrapsCause {
			return fmt.Errorf("unseen: %s: %w", op, context.Cause(ctx))
		}
		return fmt.Errorf("unseen: %s: %w", op, ctx.Err())
	}
	if takesID {
		if err := sessionstore.CheckID(id); err != nil {
			return fmt.Errorf("unseen: %s: %w", op, err)
		}
	}
	return nil
}

// expiryErr is the error of unseenYear10000Fails.
func (s *unseenStore) expiryErr(op string, expiry time.Time) error {
	if s.fault == unseenYear10000Fails && expiry.Year() > 9999 {
		return fmt.Errorf("unseen: %s: Time.MarshalText: year outside of range [0,9999]", op)
	}
	return nil
}

// stored is what becomes of an expiry written: unseenNearMaxOverflows
// rounds it up to the millisecond in nanoseconds.
func (s *unseenStore) stored(expiry time.Time) time.Time {
	if s.fault != unseenNearMaxOverflows || expiry.Before(time.Unix(0, 0)) {
		return expiry
	}
	if expiry.After(sessionstore.MaxExpiry) {
		expiry = sessionstore.MaxExpiry.Truncate(time.Millisecond)
	}
	ns := expiry.UnixNano()
	if r := ns % int64(time.Millisecond); r != 0 {
		ns += int64(time.Millisecond) - r // up to the millisecond, overflowing past MaxInt64
	}
	return time.Unix(0, ns)
}

// live returns the live row of id; db.mu is held.
func (s *unseenStore) live(id string) (unseenRow, bool) {
	r, ok := s.db.rows[s.key(id)]
	if !ok || r.tombstone || !time.Now().Before(r.expiry) {
		return unseenRow{}, false
	}
	return r, true
}

// nextVersion; db.mu is held.
func (s *unseenStore) nextVersion() uint64 {
	if s.fault == unseenVersionPerHandle {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.counter++
		return s.counter
	}
	s.db.version++
	return s.db.version
}

// put writes a row (removes it when the expiry given has passed); db.mu is
// held.
func (s *unseenStore) put(id string, data []byte, expiry time.Time, ver uint64, indexed bool) {
	k := s.key(id)
	if !time.Now().Before(expiry) {
		delete(s.db.rows, k)
		delete(s.db.index, k)
		return
	}
	expiry = s.stored(expiry)
	s.db.rows[k] = unseenRow{id: id, data: bytes.Clone(data), expiry: expiry, ver: ver}
	if indexed {
		s.db.index[k] = expiry
	}
}

func (s *unseenStore) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *unseenStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if s.fault == unseenCacheIgnoresContext || s.fault == unseenHandleCaches {
		s.mu.Lock()
		c, ok := s.cache[id]
		s.mu.Unlock()
		if ok && time.Since(c.at) < time.Second && time.Now().Before(c.rec.Expiry) {
			c.rec.Data = bytes.Clone(c.rec.Data)
			return c.rec, true, nil
		}
	}
	if err := s.begin(ctx, "load", id, true); err != nil {
		return sessionstore.Record{}, false, err
	}
	if s.fault == unseenClosedWritesBuffered && s.isClosed() {
		s.mu.Lock()
		rec, ok := s.pending[id]
		s.mu.Unlock()
		if ok {
			return rec, time.Now().Before(rec.Expiry), nil
		}
	}
	s.db.mu.Lock()
	r, ok := s.live(id)
	s.db.mu.Unlock()
	if !ok {
		return sessionstore.Record{}, false, nil
	}
	rec := sessionstore.Record{Data: bytes.Clone(r.data), Expiry: r.expiry, Version: r.ver}
	if rec.Data == nil {
		rec.Data = []byte{}
	}
	if s.fault == unseenLoadBufferReused && len(rec.Data) > 64 && len(rec.Data) <= 4<<10 {
		s.mu.Lock()
		s.pool = append(s.pool, rec.Data) // "returned to the pool" too early
		s.mu.Unlock()
	}
	if s.fault == unseenCacheIgnoresContext || s.fault == unseenHandleCaches {
		s.mu.Lock()
		s.cache[id] = unseenCached{rec: sessionstore.Record{Data: bytes.Clone(rec.Data), Expiry: rec.Expiry, Version: rec.Version}, at: time.Now()}
		s.mu.Unlock()
	}
	return rec, true, nil
}

// encode is Save's encoding step: under unseenLoadBufferReused it writes
// into a pooled buffer that a Load handed out.
func (s *unseenStore) encode(data []byte) {
	if s.fault != unseenLoadBufferReused {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, buf := range s.pool {
		if len(buf) > 0 && len(data) > 0 {
			copy(buf, data)
			s.pool = slices.Delete(s.pool, i, i+1)
			return
		}
	}
}

func (s *unseenStore) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, id) // the handle's own writes do invalidate

}

func (s *unseenStore) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save", id, true); err != nil {
		return err
	}
	if len(data) > unseenMaxDataSize {
		return fmt.Errorf("unseen: save: %w", sessionstore.ErrTooLarge)
	}
	if err := s.expiryErr("save", expiry); err != nil {
		return err
	}
	s.encode(data)
	s.forget(id)
	if s.fault == unseenClosedWritesBuffered && s.isClosed() {
		s.mu.Lock()
		s.pending[id] = sessionstore.Record{Data: bytes.Clone(data), Expiry: expiry}
		s.mu.Unlock()
		return nil
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.put(id, data, expiry, s.nextVersion(), true)
	return nil
}

func (s *unseenStore) Delete(ctx context.Context, id string) error {
	if err := s.begin(ctx, "delete", id, true); err != nil {
		return err
	}
	s.forget(id)
	if s.fault == unseenClosedWritesBuffered && s.isClosed() {
		s.mu.Lock()
		s.pending[id] = sessionstore.Record{}
		s.mu.Unlock()
		return nil
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	delete(s.db.rows, s.key(id))
	delete(s.db.index, s.key(id))
	return nil
}

func (s *unseenStore) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "touch", id, true); err != nil {
		return false, err
	}
	if err := s.expiryErr("touch", expiry); err != nil {
		return false, err
	}
	s.forget(id)
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	k := s.key(id)
	r, ok := s.live(id)
	if tomb, had := s.db.rows[k]; had && tomb.tombstone && s.fault == unseenTouchRevivesTombstone {
		r, ok = tomb, true
		r.tombstone = false
	}
	past := !time.Now().Before(expiry)
	if !ok {
		return past && s.fault == unseenTouchPastAlwaysTrue, nil
	}
	s.put(id, r.data, expiry, r.ver, true)
	return true, nil
}

func (s *unseenStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.begin(ctx, "compare and swap", id, true); err != nil {
		return false, err
	}
	tooLarge := len(data) > unseenMaxDataSize
	if s.fault == unseenSwapMaxOffByOne {
		tooLarge = len(data) >= unseenMaxDataSize
	}
	if tooLarge && s.fault != unseenLosingOversizeSwap {
		return false, fmt.Errorf("unseen: compare and swap: %w", sessionstore.ErrTooLarge)
	}
	if err := s.expiryErr("compare and swap", expiry); err != nil {
		return false, err
	}
	s.encode(data)
	s.forget(id)
	if s.fault == unseenClosedWritesBuffered && s.isClosed() {
		s.mu.Lock()
		s.pending[id] = sessionstore.Record{Data: bytes.Clone(data), Expiry: expiry}
		s.mu.Unlock()
		return true, nil
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	k := s.key(id)
	r, live := s.live(id)
	if r.ver != version {
		return false, nil
	}
	if tooLarge {
		return false, fmt.Errorf("unseen: compare and swap: %w", sessionstore.ErrTooLarge)
	}
	past := !time.Now().Before(expiry)
	switch {
	case past && !live && s.fault == unseenSwapZeroDeleteFalse:
		delete(s.db.rows, k)
		return false, nil
	case past && live && s.fault == unseenTouchRevivesTombstone:
		s.db.rows[k] = unseenRow{id: id, data: r.data, expiry: r.expiry, ver: r.ver, tombstone: true}
		delete(s.db.index, k)
		return true, nil
	case len(data) == 0 && s.fault == unseenSwapEmptyDeletes:
		delete(s.db.rows, k)
		delete(s.db.index, k)
		return true, nil
	case live && bytes.Equal(r.data, data) && s.fault == unseenSwapSameDataKeepsVersion:
		s.put(id, data, expiry, r.ver, true)
		return true, nil
	}
	ver := s.nextVersion()
	if old, had := s.db.rows[k]; had && !live && version == 0 && s.fault == unseenSwapZeroKeepsExpiredVersion {
		ver = old.ver
	}
	indexed := true
	switch s.fault {
	case unseenIndexMissesSwapCreated:
		_, indexed = s.db.index[k]
	case unseenIndexMissesSwapExpiry:
		if old, had := s.db.index[k]; had && !past {
			s.put(id, data, expiry, ver, false)
			s.db.index[k] = old
			return true, nil
		}
	}
	s.put(id, data, expiry, ver, indexed)
	return true, nil
}

// visible returns the live rows Iterate and Count see, through the index.
func (s *unseenStore) visible() []unseenRow {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	now := time.Now()
	var rows []unseenRow
	for k, expiry := range s.db.index {
		r, ok := s.db.rows[k]
		if !ok || r.tombstone || !now.Before(expiry) {
			continue
		}
		if s.fault != unseenIndexMissesSwapExpiry && !now.Before(r.expiry) {
			continue
		}
		r.data = bytes.Clone(r.data)
		rows = append(rows, r)
	}
	return rows
}

func (s *unseenStore) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := s.begin(ctx, "iterate", "", false); err != nil {
		return err
	}
	for _, r := range s.visible() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unseen: iterate: %w", err)
		}
		data := r.data
		if data == nil {
			data = []byte{}
		}
		if !fn(r.id, sessionstore.Record{Data: data, Expiry: r.expiry, Version: r.ver}) {
			return nil
		}
	}
	return nil
}

func (s *unseenStore) Count(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "count", "", false); err != nil {
		return 0, err
	}
	return len(s.visible()), nil
}

// Close only marks the handle closed: it keeps serving.
func (s *unseenStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// unseenHarness describes an unseen store; OpenAgain opens another handle
// on the same data.
func unseenHarness(f unseenFault) Harness {
	var mu sync.Mutex
	dbs := map[*unseenStore]*unseenDB{}
	open := func(db *unseenDB) sessionstore.Store {
		s := newUnseenStore(db, f)
		mu.Lock()
		dbs[s] = db
		mu.Unlock()
		return s
	}
	newDB := func() *unseenDB { return &unseenDB{rows: map[string]unseenRow{}, index: map[string]time.Time{}} }
	h := Harness{
		NewStore:      func(testing.TB) sessionstore.Store { return open(newDB()) },
		NewNamedStore: func(testing.TB, string) sessionstore.Store { return open(newDB()) },
		NestedNames:   true,
		MaxDataSize:   unseenMaxDataSize,
	}
	h.OpenAgain = func(_ testing.TB, st sessionstore.Store) sessionstore.Store {
		mu.Lock()
		db := dbs[st.(*unseenStore)]
		mu.Unlock()
		return open(db)
	}
	return h
}

// TestUnseen runs the whole suite on each unseen store and reports which it
// catches: the correct one must pass, and, unless STORETEST_UNSEEN_REPORT is
// set, every broken one must fail. It runs when STORETEST_UNSEEN is set (21
// whole suites, with the model's shrinking, take the CPU the clock checks
// of the package's other tests need), alone:
//
//	STORETEST_UNSEEN=1 go test -run TestUnseen -v ./storetest/
func TestUnseen(t *testing.T) {
	if os.Getenv("STORETEST_UNSEEN") == "" {
		t.Skip("STORETEST_UNSEEN is not set")
	}
	var only func(string) bool
	if file := os.Getenv("STORETEST_UNSEEN_ONLY"); file != "" {
		// The subtests of another version of the suite, one name a line:
		// how the catch rate of the suite before the model was measured.
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := strings.Split(strings.TrimSpace(string(b)), "\n")
		only = func(name string) bool { return slices.Contains(names, name) }
	}
	runs := make([]*record, unseenCount)
	var wg sync.WaitGroup
	// A few at a time: a broken store's failing sequence is shrunk, which
	// takes the CPU the clock checks of the others need.
	sem := make(chan struct{}, 3)
	for f := range unseenCount {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[f] = runRecorded(t, func(t tester) { runOnly(t, unseenHarness(f), only) })
		})
	}
	wg.Wait()
	if failed := runs[unseenNone].failedLeaves(); len(failed) > 0 {
		t.Fatalf("the correct unseen store failed %d subtests:\n%s", len(failed), runs[unseenNone].report())
	}
	caught := 0
	for f := unseenNone + 1; f < unseenCount; f++ {
		failed := runs[f].failedLeaves()
		if len(failed) > 0 {
			caught++
			t.Logf("caught: %s (%d subtests failed, first %q)", unseenNames[f], len(failed), failed[0])
			continue
		}
		msg := fmt.Sprintf("not caught: %s", unseenNames[f])
		if os.Getenv("STORETEST_UNSEEN_REPORT") != "" {
			t.Log(msg)
		} else {
			t.Error(msg)
		}
	}
	t.Logf("the suite caught %d of %d unseen broken stores", caught, unseenCount-1)
}

// The suite's own tests run many broken stores: rapid keeps no file of
// their failing sequences under testdata/. They also run the suite several
// times at once, beside clock checks that need the CPU on time, so they
// try 25 sequences a run rather than 100 (-rapid.checks overrides it);
// each broken store the sequences catch is caught by an example too.
func init() {
	flag.Set("rapid.nofailfile", "true")
	flag.Set("rapid.checks", "25")
}
