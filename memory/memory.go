// Package memory is a sessionstore.Store that keeps sessions in the memory of
// the process.
//
// It suits a single server, tests and development: sessions are lost when the
// process exits and are not shared between processes. It implements every
// optional capability of the contract: [sessionstore.Toucher],
// [sessionstore.Swapper], [sessionstore.Iterator], [sessionstore.Counter] and
// [io.Closer].
//
// The store is split into shards, each with its own lock and chosen by a
// seeded hash of the id, so calls on different sessions rarely wait for each
// other. Save and Load copy the data, so a caller may reuse its buffer once
// Save returns and may keep or change what Load returned. Load allocates once,
// for the caller's copy; Save of a stored id copies into the stored buffer
// when the new data fits it, else allocates once.
//
// The store is also a [sessionstore.Sharer] and [sessionstore.SwapSharer],
// which the session Manager uses: LoadShared hands out the stored bytes
// themselves and SaveShared keeps the caller's, with no copy and no
// allocation, because bytes passed either way are never modified again (a
// later Save stores a new buffer instead of writing over them). A type that
// embeds *Store is not a Sharer in its own right (see
// [sessionstore.SharerOf]): a Manager over it calls its own Load and Save.
//
// Ids of up to 47 bytes (every id the Manager makes) are kept inside the
// store's own slots with their records, which hold no pointer but the
// data's, and found through a table of 8-byte cells from 32 bits of a
// seeded hash of the id to the slot: a live session costs the garbage
// collector one pointer, a quarter to a half of what scs's memstore costs it
// at millions of sessions. Longer ids, and the rare short id whose 32 bits
// another holds, live in a map of their own. The table of a shard is
// doubled when three quarters full, in one step: at 4,000,000 sessions that
// holds the shard's lock for a few milliseconds, once.
//
// Expiry is exact: every read compares the expiry with the clock, so a record
// is never returned at or after its expiry. A background goroutine removes
// expired records every [Options.CleanupInterval], one shard at a time so it
// never holds a lock for long. [Store.Close] stops it and waits for it.
//
// [Options.MaxSessions] caps the number of stored sessions so a flood of new
// sessions cannot exhaust memory, and [Options.MaxDataSize] caps each one: the
// memory a store can hold is about MaxSessions × (MaxDataSize + id length +
// 100 bytes). At the cap, a Save or CompareAndSwap of an id that is not stored
// first removes every expired record of the store; if the store is still
// full it fails with an error wrapping [sessionstore.ErrFull] and stores
// nothing. Ids already stored can still be overwritten, touched and deleted.
package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sessionstore/sessionstore"
)

// Defaults of [Options].
const (
	// DefaultMaxSessions bounds a flood of new sessions while leaving room
	// for any single server's real traffic.
	DefaultMaxSessions = 1_000_000

	// DefaultMaxDataSize is twice the 512 KiB every store must accept, and
	// the size of memcached's default item limit, so a session that fits
	// here fits the other backends.
	DefaultMaxDataSize = 1 << 20

	// MaxDataSizeLimit is the largest MaxDataSize: a record's length is
	// kept in 32 bits, which keeps a stored session small (see entry).
	MaxDataSizeLimit = math.MaxUint32

	// DefaultCleanupInterval is how often expired records are removed by
	// default. Expired records are never returned in between: this only
	// bounds the memory they hold.
	DefaultCleanupInterval = time.Minute
)

const (
	// inPlaceMax is the largest stored buffer a Save of data that fits
	// overwrites in place, sparing an allocation; readers copy such a buffer
	// while holding the shard lock. A bigger buffer is never modified once
	// stored, so readers copy it after releasing the lock and a big copy
	// never blocks the shard.
	inPlaceMax = 8 << 10

	// shardBits sets the number of shards. 16 measured 15% faster than 64
	// for a load+save pair over 10,000 sessions (fewer, larger maps stay
	// warmer in the cache) and still spreads the locks of a few cores;
	// an empty store costs about 2 KiB.
	shardBits = 4
	numShards = 1 << shardBits
)

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// MaxSessions caps the number of sessions the store holds, counting
	// expired ones not yet removed. At the cap, saving a new id first
	// removes the expired records, then fails with an error wrapping
	// sessionstore.ErrFull if the store is still full.
	//
	// Optional. Default is DefaultMaxSessions (1,000,000). Negative means no
	// cap.
	MaxSessions int

	// MaxDataSize is the largest data, in bytes, that Save and
	// CompareAndSwap accept; larger data fails with an error wrapping
	// sessionstore.ErrTooLarge and leaves the stored record intact.
	//
	// Optional. Default is DefaultMaxDataSize (1 MiB). Negative, or more
	// than MaxDataSizeLimit, means MaxDataSizeLimit (4 GiB - 1).
	MaxDataSize int

	// CleanupInterval is how often a background goroutine removes expired
	// records.
	//
	// Optional. Default is DefaultCleanupInterval (1 minute). Negative
	// disables the goroutine: expired records are then removed only when
	// the store is full, and are never returned either way.
	CleanupInterval time.Duration

	// Now returns the current time; tests set it to move the clock.
	//
	// Optional. Default is time.Now.
	Now func() time.Time
}

// Store is an in-memory sessionstore.Store. Create it with [New]; its
// methods are safe for concurrent use. After [Store.Close] returns, every
// method fails with an error wrapping sessionstore.ErrClosed.
type Store struct {
	tab         *table
	seed        maphash.Seed
	maxDataSize int
	closed      atomic.Bool
	janitor     *janitor // nil when cleanup is disabled
}

// table is everything the cleanup goroutine uses. It is kept apart from
// Store so that a Store dropped without Close can still be collected; its
// cleanup then stops the goroutine.
type table struct {
	shards      [numShards]shard
	count       atomic.Int64     // records held, live or expired but not yet removed
	maxSessions int64            // < 0: no cap
	now         func() time.Time // Options.Now; nil: the wall clock, read through wall
	wall        wallClock
}

type shard struct {
	shardState
	// Padding keeps two shards off one cache line, so cores locking
	// neighbouring shards do not slow each other down.
	_ [128 - unsafe.Sizeof(shardState{})%128]byte
}

type shardState struct {
	// The first 64 bytes hold all that a load and a save write (the lock,
	// the hint, seq) and the index they read, so that a shard last used by
	// another core costs one cache line brought over, not three.
	mu sync.Mutex
	// hint is 1 + the slot of the short id last found, whose hash's low
	// bits are hintH, or 0: a request saves the session it loaded, and
	// that save then finds its slot without the index.
	hint, hintH uint32
	seq         uint64 // writes so far; with the shard number, the next Version
	number      uint64
	// index maps 32 bits of the hash of each short id (up to idKeyMax
	// bytes, every id the session Manager makes) to its slot in slots,
	// where the id is kept inside the slot with its record: a short id's
	// session costs the garbage collector one pointer (its data), a cell
	// of 8 bytes and a slot of 80, and a lookup no cache miss on an id
	// string. A new id finds its 32 bits taken with a chance of the
	// shard's sessions in 2^32 (one in 70,000 at 62,500, a million
	// sessions in all): it then goes to long.
	index tagIndex
	slots [][]slot // chunks of chunkSlots slots; only the first grows
	free  []uint32 // slots of removed records, for reuse
	// long holds the records of longer ids, and of the short ids whose
	// hash another short id holds in index (so rare that its cost does
	// not matter, but it must be right).
	long map[string]entry
	// minExpiry is at most the earliest expiry in m (in Unix nanoseconds),
	// so a shard whose minExpiry is in the future holds nothing expired and
	// cleanup skips it. Written under mu, read without it.
	minExpiry atomic.Int64
}

// entry is one stored record, in 32 bytes: its data is a pointer and two
// 32-bit lengths rather than a slice, so the slot of a short id (id and
// entry) takes 80 bytes. At millions of sessions the smaller slots keep the
// heap and the cache misses of a lookup low.
type entry struct {
	ptr  *byte  // the data's first byte; nil when the data is empty
	size uint32 // the data's length
	// room is the capacity a later Save may overwrite in place, or 0 when
	// the data is never modified: it was handed over by SaveShared or
	// CompareAndSwapShared and may be in the hands of LoadShared callers, or
	// it is over inPlaceMax, or empty.
	room    uint32
	expiry  int64 // Unix nanoseconds
	version uint64
}

// data returns the record's data, never nil.
func (e *entry) data() []byte {
	if e.ptr == nil {
		return []byte{}
	}
	return unsafe.Slice(e.ptr, e.size)
}

// setData makes b the record's data, which a later Save may overwrite in
// place when mutable is set and b is small enough.
func (e *entry) setData(b []byte, mutable bool) {
	e.ptr, e.size, e.room = nil, 0, 0
	if len(b) == 0 {
		return
	}
	e.ptr, e.size = unsafe.SliceData(b), uint32(len(b))
	if mutable && cap(b) <= inPlaceMax {
		e.room = uint32(cap(b))
	}
}

// New returns a store configured by opts and starts its cleanup goroutine.
// Call Close when done with it.
func New(opts Options) *Store {
	tab := &table{maxSessions: int64(opts.MaxSessions), now: opts.Now}
	switch {
	case opts.MaxSessions == 0:
		tab.maxSessions = DefaultMaxSessions
	case opts.MaxSessions < 0:
		tab.maxSessions = -1
	}
	if tab.now == nil {
		tab.wall.sync()
	}
	for i := range tab.shards {
		sh := &tab.shards[i]
		sh.long = make(map[string]entry)
		sh.minExpiry.Store(math.MaxInt64)
		sh.number = uint64(i)
	}
	s := &Store{tab: tab, seed: maphash.MakeSeed(), maxDataSize: opts.MaxDataSize}
	switch {
	case opts.MaxDataSize == 0:
		s.maxDataSize = DefaultMaxDataSize
	case opts.MaxDataSize < 0 || opts.MaxDataSize > MaxDataSizeLimit:
		s.maxDataSize = MaxDataSizeLimit
	}
	interval := opts.CleanupInterval
	if interval == 0 {
		interval = DefaultCleanupInterval
	}
	if interval > 0 {
		s.janitor = startJanitor(tab, interval)
		// A Store dropped without Close must not leave its goroutine
		// running forever; the goroutine holds only tab and the janitor.
		runtime.AddCleanup(s, (*janitor).signal, s.janitor)
	}
	return s
}

// Load returns the record stored under id; see sessionstore.Store. Data is a
// copy the caller owns.
func (s *Store) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	return s.load(ctx, id, false)
}

// SharingStore returns s: see sessionstore.Sharer.
func (s *Store) SharingStore() sessionstore.Store { return s }

// LoadShared is Load without the copy of the data when the stored bytes
// are never modified (see sessionstore.Sharer): those stored by SaveShared
// or CompareAndSwapShared, and those over 8 KiB. The caller must not modify
// the returned Data.
func (s *Store) LoadShared(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	return s.load(ctx, id, true)
}

// load is Load, or LoadShared when shared is set.
func (s *Store) load(ctx context.Context, id string, shared bool) (sessionstore.Record, bool, error) {
	if err := s.check(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	now := s.tab.nowNanos()
	sh, h := s.shard(id)
	sh.mu.Lock()
	e, ok := sh.get(h, id)
	if !ok || e.expiry <= now {
		sh.mu.Unlock()
		return sessionstore.Record{}, false, nil
	}
	data, owned := e.copyMutable()
	exp, version := e.expiry, e.version
	sh.mu.Unlock()
	switch {
	case owned:
	case shared && len(data) > 0:
		// Immutable: handed out as is.
	default:
		data = clone(data)
	}
	return sessionstore.Record{Data: data, Expiry: time.Unix(0, exp), Version: version}, true, nil
}

// Save stores a copy of data under id until expiry; see sessionstore.Store.
// It fails with an error wrapping sessionstore.ErrTooLarge above
// MaxDataSize, and with one wrapping sessionstore.ErrFull when id is new and
// the store is full (see [Options.MaxSessions]). Save does not read the
// clock: a record saved with an expiry already past is never returned, and
// its memory is reclaimed by the next cleanup.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.checkWrite(ctx, "save", id, data); err != nil {
		return err
	}
	if _, err := s.put(id, false, 0, data, expiry, false); err != nil {
		return fmt.Errorf("memory: save: %w", err)
	}
	return nil
}

// SaveShared is Save keeping data itself rather than a copy (see
// sessionstore.Sharer): the caller must never modify data afterwards.
func (s *Store) SaveShared(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.checkWrite(ctx, "save", id, data); err != nil {
		return err
	}
	if _, err := s.put(id, false, 0, data, expiry, true); err != nil {
		return fmt.Errorf("memory: save: %w", err)
	}
	return nil
}

// Delete removes id; deleting a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx, "delete", id); err != nil {
		return err
	}
	sh, h := s.shard(id)
	sh.mu.Lock()
	_, ok := sh.get(h, id)
	sh.remove(h, id, ok, &s.tab.count)
	sh.mu.Unlock()
	return nil
}

// Touch moves the expiry of a live record without changing its data or
// Version; see sessionstore.Toucher.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.check(ctx, "touch", id); err != nil {
		return false, err
	}
	now, exp := s.tab.nowNanos(), unixNanos(expiry)
	sh, h := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.get(h, id)
	switch {
	case !ok:
		return false, nil
	case e.expiry <= now || exp <= now:
		// An expired record is removed while the lock is held anyway; a
		// live one touched into the past is gone, as the contract says.
		sh.remove(h, id, true, &s.tab.count)
		return e.expiry > now, nil
	}
	e.expiry = exp
	sh.set(h, id, e)
	sh.lowerMinExpiry(exp)
	return true, nil
}

// CompareAndSwap stores a copy of data under id only if the live record
// still has the given version (0: only if no live record exists); see
// sessionstore.Swapper. It fails like Save with ErrTooLarge or ErrFull.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.checkWrite(ctx, "compare and swap", id, data); err != nil {
		return false, err
	}
	swapped, err := s.put(id, true, version, data, expiry, false)
	if err != nil {
		return false, fmt.Errorf("memory: compare and swap: %w", err)
	}
	return swapped, nil
}

// CompareAndSwapShared is CompareAndSwap keeping data itself rather than a
// copy (see sessionstore.SwapSharer): the caller must never modify data
// afterwards.
func (s *Store) CompareAndSwapShared(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.checkWrite(ctx, "compare and swap", id, data); err != nil {
		return false, err
	}
	swapped, err := s.put(id, true, version, data, expiry, true)
	if err != nil {
		return false, fmt.Errorf("memory: compare and swap: %w", err)
	}
	return swapped, nil
}

// put writes data under id, unconditionally or, when cond is set, only over
// the given version. It reports whether it wrote. shared says data is
// handed over: it is stored as is and never modified.
func (s *Store) put(id string, cond bool, version uint64, data []byte, expiry time.Time, shared bool) (bool, error) {
	exp := unixNanos(expiry)
	var now int64 // Save needs no clock: Load hides what it stores expired
	if cond {
		now = s.tab.nowNanos()
	}
	var big []byte
	if len(data) > inPlaceMax && !shared {
		big = keep(data) // outside the lock: a big copy does not block the shard
	}
	// A write that needs nothing of the record it replaces is written
	// blind, with one map probe, and taken back if it added a record to a
	// full store.
	blind := !cond && (shared || big != nil)
	sh, h := s.shard(id)
	for purged := false; ; purged = true {
		sh.mu.Lock()
		var e entry
		var ok bool
		if blind {
			e = entry{expiry: exp}
			if shared {
				e.setData(data, false)
			} else {
				e.setData(big, false)
			}
			sh.seq++
			e.version = sh.seq<<shardBits | sh.number
			if !sh.set(h, id, e) || s.tab.reserve() {
				sh.lowerMinExpiry(exp)
				sh.mu.Unlock()
				return true, nil
			}
			sh.del(h, id)
			sh.mu.Unlock()
		} else {
			e, ok = sh.get(h, id)
		}
		if cond {
			live := ok && e.expiry > now
			if (version == 0 && live) || (version != 0 && (!live || e.version != version)) {
				sh.mu.Unlock()
				return false, nil
			}
			if exp <= now { // a swap into the past leaves id gone
				sh.remove(h, id, ok, &s.tab.count)
				sh.mu.Unlock()
				return true, nil
			}
		}
		if blind || !ok && !s.tab.reserve() {
			if !blind {
				sh.mu.Unlock()
			}
			if purged {
				return false, fmt.Errorf("%w: %d sessions stored", sessionstore.ErrFull, s.tab.maxSessions)
			}
			now = s.tab.nowNanos()
			if exp <= now {
				return true, nil // id is not stored and would be gone at once
			}
			// Purge with this shard unlocked, as two full Saves each
			// holding its shard while locking the other's would deadlock;
			// then look again, as id may have been stored meanwhile.
			s.tab.purgeAll(now, nil)
			continue
		}
		switch {
		case shared:
			e.setData(data, false)
		case big != nil:
			e.setData(big, false)
		default:
			e.setData(e.overwrite(data), true)
		}
		sh.seq++
		e.expiry, e.version = exp, sh.seq<<shardBits|sh.number
		sh.set(h, id, e)
		sh.lowerMinExpiry(exp)
		sh.mu.Unlock()
		return true, nil
	}
}

// Iterate calls fn with each live record; see sessionstore.Iterator. It
// copies a shard's live records before calling fn without any lock held, so
// fn may call the store. Each Data is a copy the caller owns.
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := s.checkOpen(ctx, "iterate"); err != nil {
		return err
	}
	type item struct {
		id    string
		data  []byte
		e     entry
		owned bool // data is already the caller's copy
	}
	var batch []item
	for i := range s.tab.shards {
		sh := &s.tab.shards[i]
		now := s.tab.nowNanos()
		batch = batch[:0]
		sh.mu.Lock()
		add := func(id string, e entry) {
			it := item{id: id, e: e}
			it.data, it.owned = e.copyMutable()
			batch = append(batch, it)
		}
		sh.index.each(func(_, i uint32) {
			if sl := sh.slot(i); sl.expiry > now {
				add(sl.key.String(), sl.entry)
			}
		})
		for id, e := range sh.long {
			if e.expiry > now {
				add(id, e)
			}
		}
		sh.mu.Unlock()
		for _, it := range batch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memory: iterate: %w", err)
			}
			// fn may have been slow: a record that expired since the
			// copy is not visited.
			if it.e.expiry <= s.tab.nowNanos() {
				continue
			}
			if !it.owned {
				it.data = clone(it.data)
			}
			rec := sessionstore.Record{Data: it.data, Expiry: time.Unix(0, it.e.expiry), Version: it.e.version}
			if !fn(it.id, rec) {
				return nil
			}
		}
	}
	return nil
}

// Count returns the number of live records; see sessionstore.Counter. It
// only scans shards that may hold expired records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.checkOpen(ctx, "count"); err != nil {
		return 0, err
	}
	n := 0
	for i := range s.tab.shards {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("memory: count: %w", err)
		}
		sh := &s.tab.shards[i]
		now := s.tab.nowNanos()
		sh.mu.Lock()
		if sh.minExpiry.Load() > now {
			n += sh.index.len() + len(sh.long)
		} else {
			sh.index.each(func(_, i uint32) {
				if sh.slot(i).expiry > now {
					n++
				}
			})
			for _, e := range sh.long {
				if e.expiry > now {
					n++
				}
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Close stops the cleanup goroutine and waits for it to return. Calls made
// after Close fail with an error wrapping sessionstore.ErrClosed. Close is
// safe to call more than once; it always returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.janitor != nil {
		s.janitor.stop()
	}
	return nil
}

// shard returns the shard of id and the hash of id that the shard's
// index is keyed by, its top bits having chosen the shard.
func (s *Store) shard(id string) (*shard, uint64) {
	h := maphash.String(s.seed, id)
	return &s.tab.shards[h>>(64-shardBits)], h
}

// checkOpen fails when ctx is done or the store closed.
func (s *Store) checkOpen(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("memory: %s: %w", op, sessionstore.ErrClosed)
	}
	return nil
}

// check is checkOpen and a valid id. Its common case, a live context, an
// open store and an id of a valid length, is small enough to be inlined
// into every method: a call through the checks costs a tenth of a Load.
func (s *Store) check(ctx context.Context, op, id string) error {
	if len(id) != 0 && len(id) <= sessionstore.MaxIDLength && ctx.Err() == nil && !s.closed.Load() {
		return nil
	}
	return s.checkFailed(ctx, op, id)
}

// checkFailed returns the error of a failed check.
func (s *Store) checkFailed(ctx context.Context, op, id string) error {
	if err := s.checkOpen(ctx, op); err != nil {
		return err
	}
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	return nil
}

// checkWrite is check and data within MaxDataSize.
func (s *Store) checkWrite(ctx context.Context, op, id string, data []byte) error {
	if len(data) > s.maxDataSize {
		if err := s.check(ctx, op, id); err != nil {
			return err
		}
		return fmt.Errorf("memory: %s: %w: %d bytes, more than %d", op, sessionstore.ErrTooLarge, len(data), s.maxDataSize)
	}
	return s.check(ctx, op, id)
}

func (t *table) nowNanos() int64 {
	if t.now == nil {
		return t.wall.nanos()
	}
	return unixNanos(t.now())
}

// wallClock reads the wall clock, in Unix nanoseconds, at half the cost of
// time.Now: it adds the monotonic time elapsed since a reading of both
// clocks, so each call reads one clock rather than two. It reads both
// again every wallResync, so a step of the wall clock (a correction by NTP)
// is followed within that time; between readings the two clocks drift
// apart by no more than the kernel's slewing rate (0.05%: 50 µs).
type wallClock struct {
	base atomic.Pointer[wallBase]
}

// wallBase is one reading of both clocks.
type wallBase struct {
	at   time.Time // has the monotonic reading
	wall int64     // at's Unix nanoseconds
}

const wallResync = 100 * time.Millisecond

// nanos returns the current wall time in Unix nanoseconds.
func (c *wallClock) nanos() int64 {
	b := c.base.Load()
	if d := time.Since(b.at); d >= 0 && d < wallResync {
		return b.wall + int64(d)
	}
	return c.sync()
}

// sync reads both clocks afresh and returns the wall time.
func (c *wallClock) sync() int64 {
	t := time.Now()
	b := &wallBase{at: t, wall: unixNanos(t)}
	c.base.Store(b)
	return b.wall
}

// reserve counts one more stored record, unless the store is full.
func (t *table) reserve() bool {
	if t.maxSessions < 0 {
		t.count.Add(1)
		return true
	}
	for {
		n := t.count.Load()
		if n >= t.maxSessions {
			return false
		}
		if t.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// purgeAll removes the records expired at now from every shard that may
// hold one, locking one shard at a time. It stops early when done closes.
func (t *table) purgeAll(now int64, done <-chan struct{}) {
	for i := range t.shards {
		select {
		case <-done:
			return
		default:
		}
		sh := &t.shards[i]
		if sh.minExpiry.Load() > now {
			continue
		}
		sh.mu.Lock()
		t.count.Add(-int64(sh.purge(now)))
		sh.mu.Unlock()
	}
}

// purge removes the records expired at now and returns how many it removed.
// The caller holds sh.mu.
func (sh *shard) purge(now int64) int {
	n, minExp := 0, int64(math.MaxInt64)
	var expired []uint32 // tags: the index cannot change while walked
	sh.index.each(func(tag, i uint32) {
		if exp := sh.slot(i).expiry; exp <= now {
			expired = append(expired, tag)
			sh.release(i)
		} else {
			minExp = min(minExp, exp)
		}
	})
	for _, tag := range expired {
		sh.index.remove(tag)
	}
	n += len(expired)
	for id, e := range sh.long {
		if e.expiry <= now {
			delete(sh.long, id)
			n++
		} else {
			minExp = min(minExp, e.expiry)
		}
	}
	sh.minExpiry.Store(minExp)
	return n
}

// remove deletes id if stored, keeping count. The caller holds sh.mu.
func (sh *shard) remove(h uint64, id string, stored bool, count *atomic.Int64) {
	if stored {
		sh.del(h, id)
		count.Add(-1)
	}
}

// idKeyMax is the longest id kept inside a slot: 47 bytes, room for
// the 43 of a 256-bit id in base64 (as the session Manager makes, hashed or
// not).
const idKeyMax = 47

// idKey is an id of up to idKeyMax bytes, its length in the last byte.
type idKey [idKeyMax + 1]byte

func makeKey(id string) idKey {
	var k idKey
	copy(k[:], id)
	k[idKeyMax] = byte(len(id))
	return k
}

// String returns the id.
func (k *idKey) String() string { return string(k[:k[idKeyMax]]) }

// is reports whether k holds id.
func (k *idKey) is(id string) bool {
	return int(k[idKeyMax]) == len(id) && string(k[:len(id)]) == id
}

// slot is a short id and its record.
type slot struct {
	key idKey
	entry
}

// chunkSlots is the size of a chunk of slots (80 KiB): chunks are never
// moved once full, so a store of millions grows without copying them, and
// the first chunk grows from a few slots, so a small store stays small.
const chunkSlots = 1024

// slot returns slot i. The caller holds sh.mu.
func (sh *shard) slot(i uint32) *slot { return &sh.slots[i/chunkSlots][i%chunkSlots] }

// alloc returns a free slot. The caller holds sh.mu.
func (sh *shard) alloc() uint32 {
	if n := len(sh.free); n > 0 {
		i := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return i
	}
	last := len(sh.slots) - 1
	if last < 0 || len(sh.slots[last]) == chunkSlots {
		size := chunkSlots
		if last < 0 {
			size = 8
		}
		sh.slots = append(sh.slots, make([]slot, 0, size))
		last++
	}
	c := sh.slots[last]
	if len(c) == cap(c) {
		grown := make([]slot, len(c), min(2*cap(c), chunkSlots))
		copy(grown, c)
		c = grown
	}
	sh.slots[last] = append(c, slot{})
	return uint32(last*chunkSlots + len(c))
}

// release clears slot i, so its data can be collected, and frees it. The
// caller holds sh.mu.
func (sh *shard) release(i uint32) {
	*sh.slot(i) = slot{}
	sh.free = append(sh.free, i)
}

// get returns the record of id, whose hash is h. The caller holds sh.mu.
func (sh *shard) get(h uint64, id string) (entry, bool) {
	if len(id) <= idKeyMax {
		if i, ok := sh.index.get(uint32(h)); ok {
			if sl := sh.slot(i); sl.key.is(id) {
				sh.hint, sh.hintH = i+1, uint32(h)
				return sl.entry, true
			}
		}
		if len(sh.long) == 0 {
			return entry{}, false
		}
	}
	e, ok := sh.long[id]
	return e, ok
}

// set stores e under id, whose hash is h, and reports whether id was not
// stored before. The caller holds sh.mu.
func (sh *shard) set(h uint64, id string, e entry) (added bool) {
	if len(id) <= idKeyMax {
		// A slot holding id is id's slot: ids are never in two.
		if sh.hint != 0 && sh.hintH == uint32(h) {
			if sl := sh.slot(sh.hint - 1); sl.key.is(id) {
				sl.entry = e
				return false
			}
		}
		i, taken := sh.index.get(uint32(h))
		switch {
		case taken && sh.slot(i).key.is(id):
			sh.slot(i).entry = e
			return false
		case !taken && (len(sh.long) == 0 || !sh.inLong(id)):
			i = sh.alloc()
			*sh.slot(i) = slot{key: makeKey(id), entry: e}
			sh.index.add(uint32(h), i)
			return true
		}
		// Another id holds h, or id went to long when one did.
	}
	n := len(sh.long)
	sh.long[id] = e
	return len(sh.long) > n
}

// inLong reports whether id is in sh.long. The caller holds sh.mu.
func (sh *shard) inLong(id string) bool {
	_, ok := sh.long[id]
	return ok
}

// del removes id, whose hash is h. The caller holds sh.mu.
func (sh *shard) del(h uint64, id string) {
	if len(id) <= idKeyMax {
		if i, ok := sh.index.get(uint32(h)); ok && sh.slot(i).key.is(id) {
			sh.index.remove(uint32(h))
			sh.release(i)
			return
		}
	}
	delete(sh.long, id)
}

// lowerMinExpiry records that the shard holds a record expiring at exp. The
// caller holds sh.mu.
func (sh *shard) lowerMinExpiry(exp int64) {
	if exp < sh.minExpiry.Load() {
		sh.minExpiry.Store(exp)
	}
}

// janitor runs the cleanup goroutine.
type janitor struct {
	once    sync.Once
	done    chan struct{} // closed to stop the goroutine
	stopped chan struct{} // closed by the goroutine when it returns
}

func startJanitor(t *table, interval time.Duration) *janitor {
	j := &janitor{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(j.stopped)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-j.done:
				return
			case <-tick.C:
				t.purgeAll(t.nowNanos(), j.done)
			}
		}
	}()
	return j
}

// signal asks the goroutine to stop without waiting for it.
func (j *janitor) signal() { j.once.Do(func() { close(j.done) }) }

// stop asks the goroutine to stop and waits until it has returned.
func (j *janitor) stop() {
	j.signal()
	<-j.stopped
}

// copyMutable returns e's data and true, copied, if a Save may overwrite it
// in place, else uncopied and false. The caller holds the shard lock.
func (e *entry) copyMutable() ([]byte, bool) {
	if e.room > 0 {
		return clone(e.data()), true
	}
	return e.data(), false
}

// overwrite returns data copied into e's buffer when it fits and would be at
// least half used, else into a new one. The caller holds the shard lock.
func (e *entry) overwrite(data []byte) []byte {
	if c := int(e.room); len(data) <= c && len(data) >= c/2 {
		buf := unsafe.Slice(e.ptr, c)[:len(data)]
		copy(buf, data)
		return buf
	}
	return keep(data)
}

// keep copies data for storing; append rounds the capacity up to the
// allocator's size class, so a slightly larger Save later fits in place.
func keep(data []byte) []byte {
	return append([]byte(nil), data...)
}

// clone copies b for a caller into a new slice, never nil, so empty data
// round-trips as empty rather than missing.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	// append, unlike make and copy, does not zero the memory it then fills.
	return append([]byte(nil), b...)
}

// unixNanos converts t to Unix nanoseconds, clamping times beyond the int64
// range (years 1678 to 2262), where UnixNano is undefined: the zero Time
// becomes "long ago", a far-future expiry "in 2262".
func unixNanos(t time.Time) int64 {
	// Whole seconds first: cheaper than comparing Times, and exact, since
	// only the seconds at either end of the int64 range can overflow.
	switch sec := t.Unix(); {
	case sec < minSec || sec == minSec && t.Before(minTime):
		return math.MinInt64
	case sec > maxSec || sec == maxSec && t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
	minSec  = minTime.Unix()
	maxSec  = maxTime.Unix()
)
