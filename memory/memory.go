// Package memory is a sessionstore.Store that keeps sessions in the memory of
// the process.
//
// It suits a single server, tests and development: sessions are lost when the
// process exits and are not shared between processes. It implements every
// optional capability of the contract: [sessionstore.Toucher],
// [sessionstore.Swapper], [sessionstore.Iterator], [sessionstore.Counter] and
// [io.Closer].
//
// It is also the reference implementation, meant to be read: a fixed number
// of shards, each a map from id to record under its own lock, so calls on
// different sessions rarely wait for each other. A record's data is kept as
// a string: Save copies the caller's bytes into one, Load copies it back
// into bytes of the caller's own, and as a string is never modified, Load
// copies after releasing the lock and a Save beside it never tears it.
//
// Expiry is exact: every read compares the expiry with the clock of
// [Options.Now], so a record is never returned at or after its expiry. A
// background goroutine removes expired records every
// [Options.CleanupInterval], one shard at a time; [Store.Close] stops it and
// waits for it.
//
// [Options.MaxSessions] caps the number of stored sessions, so that a flood of
// new sessions cannot exhaust memory, and [Options.MaxDataSize] caps each one.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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

	// DefaultCleanupInterval is how often expired records are removed by
	// default. Expired records are never returned in between: this only
	// bounds the memory they hold.
	DefaultCleanupInterval = time.Minute
)

// shardBits sets the number of shards, 16: enough that the cores of a server
// seldom want one lock at once, few enough that the maps stay warm in the
// cache.
const (
	shardBits = 4
	numShards = 1 << shardBits
)

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// MaxSessions caps the number of sessions the store holds, counting
	// expired ones not yet removed. At the cap, a Save or CompareAndSwap of
	// a new id first removes the expired records, then fails with an error
	// wrapping sessionstore.ErrFull if the store is still full. Stored ids
	// can still be overwritten, touched and deleted.
	//
	// Optional. Default is DefaultMaxSessions (1,000,000). Negative means no
	// cap.
	MaxSessions int

	// MaxDataSize is the largest data, in bytes, that Save and
	// CompareAndSwap accept; larger data fails with an error wrapping
	// sessionstore.ErrTooLarge and leaves the stored record intact.
	//
	// Optional. Default is DefaultMaxDataSize (1 MiB). Negative means no
	// limit.
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
// method fails with an error wrapping sessionstore.ErrClosed, so that a use
// after Close is found rather than kept working on sessions nobody cleans up.
type Store struct {
	*table
	maxDataSize int
	closed      atomic.Bool
	stop        func() // stops the cleanup goroutine and waits for it; nil when disabled
}

// table is what the cleanup goroutine uses. It is apart from Store so that a
// Store dropped without Close can still be collected: its cleanup then stops
// the goroutine.
type table struct {
	shards      [numShards]shard
	seed        maphash.Seed
	count       atomic.Int64 // records held, expired ones not yet removed included
	maxSessions int64        // < 0: no cap
	now         func() time.Time
}

type shard struct {
	mu      sync.Mutex
	records map[string]entry
	// seq counts the writes of the shard: with the shard's number in its
	// low bits it makes a version no other write of the store ever had.
	seq, number uint64
	// Two shards on one cache line would make cores locking either slow
	// each other down (memory_test.go checks the size).
	_ [32]byte
}

// entry is one stored record, in 32 bytes: as many as an entry of scs's
// memstore, which has no version but keeps data as a slice.
type entry struct {
	data    string
	expiry  int64 // Unix nanoseconds (see unixNanos)
	version uint64
}

// New returns a store configured by opts and starts its cleanup goroutine.
// Call Close when done with it.
func New(opts Options) *Store {
	t := &table{seed: maphash.MakeSeed(), maxSessions: int64(cmp.Or(opts.MaxSessions, DefaultMaxSessions)), now: opts.Now}
	if t.now == nil {
		t.now = time.Now
	}
	for i := range t.shards {
		t.shards[i].records = make(map[string]entry)
		t.shards[i].number = uint64(i)
	}
	s := &Store{table: t, maxDataSize: cmp.Or(opts.MaxDataSize, DefaultMaxDataSize)}
	if s.maxDataSize < 0 {
		s.maxDataSize = math.MaxInt
	}
	if interval := cmp.Or(opts.CleanupInterval, DefaultCleanupInterval); interval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go t.janitor(ctx, interval, stopped)
		s.stop = func() { cancel(); <-stopped }
		// The goroutine holds t, not s: a Store dropped without Close is
		// collected, and this stops the goroutine then.
		runtime.AddCleanup(s, func(cancel context.CancelFunc) { cancel() }, cancel)
	}
	return s
}

// janitor removes expired records every interval until ctx ends, then
// closes stopped.
func (t *table) janitor(ctx context.Context, interval time.Duration, stopped chan<- struct{}) {
	defer close(stopped)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.purge(ctx)
		}
	}
}

// purge removes the records expired now, locking one shard at a time so
// other calls wait for one shard's walk at most. It stops early when ctx
// ends.
func (t *table) purge(ctx context.Context) {
	for i := range t.shards {
		if ctx.Err() != nil {
			return
		}
		sh := &t.shards[i]
		now := t.nowNanos()
		sh.mu.Lock()
		for id, e := range sh.records {
			if e.expiry <= now {
				t.remove(sh, id)
			}
		}
		sh.mu.Unlock()
	}
}

// Load returns the record stored under id; see sessionstore.Store. Data is a
// copy the caller owns.
func (s *Store) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := s.check(ctx, "load", id); err != nil {
		return sessionstore.Record{}, false, err
	}
	now := s.nowNanos()
	sh := s.shard(id)
	sh.mu.Lock()
	e, ok := sh.records[id]
	sh.mu.Unlock()
	if !ok || e.expiry <= now {
		return sessionstore.Record{}, false, nil
	}
	return e.record(), true, nil
}

// Save stores a copy of data under id until expiry; see sessionstore.Store.
// It fails with an error wrapping sessionstore.ErrTooLarge above
// MaxDataSize, and with one wrapping sessionstore.ErrFull when id is new and
// the store is full (see [Options.MaxSessions]).
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	_, err := s.write(ctx, "save", id, false, 0, data, expiry)
	return err
}

// CompareAndSwap stores a copy of data under id only if the live record
// still has the given version (0: only if no live record exists); see
// sessionstore.Swapper. It fails like Save with ErrTooLarge or ErrFull, and
// checks the size first, so oversized data fails even when the swap would
// lose.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	return s.write(ctx, "compare and swap", id, true, version, data, expiry)
}

// write is Save, or CompareAndSwap over version when cond is set. It reports
// whether it wrote.
func (s *Store) write(ctx context.Context, op, id string, cond bool, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.check(ctx, op, id); err != nil {
		return false, err
	}
	if len(data) > s.maxDataSize {
		return false, fmt.Errorf("memory: %s: %w: %d bytes, more than %d", op, sessionstore.ErrTooLarge, len(data), s.maxDataSize)
	}
	exp := unixNanos(expiry)
	stored := string(data) // outside the lock: a big copy blocks no one
	sh := s.shard(id)
	for purged := false; ; purged = true {
		// Save needs no clock: a record it stores already expired is never
		// returned, and the next cleanup removes it.
		var now int64
		if cond {
			now = s.nowNanos()
		}
		sh.mu.Lock()
		if cond {
			e, ok := sh.records[id]
			live := ok && e.expiry > now
			if live != (version != 0) || live && e.version != version {
				sh.mu.Unlock()
				return false, nil
			}
			if exp <= now { // a conditional delete
				s.remove(sh, id)
				sh.mu.Unlock()
				return true, nil
			}
		}
		// Written at once, with one lookup in the map, and taken back if
		// it was a new id in a full store.
		n := len(sh.records)
		sh.seq++
		sh.records[id] = entry{data: stored, expiry: exp, version: sh.seq<<shardBits | sh.number}
		if len(sh.records) == n || s.reserve() {
			sh.mu.Unlock()
			return true, nil
		}
		delete(sh.records, id)
		// Full. Purge with this shard unlocked, as two full writes each
		// holding its shard while locking the other's would deadlock; then
		// look again, as id may have been stored meanwhile.
		sh.mu.Unlock()
		if exp <= s.nowNanos() {
			return true, nil // id is not stored, and would be gone at once
		}
		if purged {
			return false, fmt.Errorf("memory: %s: %w: %d sessions stored", op, sessionstore.ErrFull, s.maxSessions)
		}
		s.purge(context.Background())
	}
}

// Delete removes id; deleting a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx, "delete", id); err != nil {
		return err
	}
	sh := s.shard(id)
	sh.mu.Lock()
	s.remove(sh, id)
	sh.mu.Unlock()
	return nil
}

// Touch moves the expiry of a live record without changing its data or
// Version; see sessionstore.Toucher.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.check(ctx, "touch", id); err != nil {
		return false, err
	}
	now, exp := s.nowNanos(), unixNanos(expiry)
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.records[id]
	if !ok || e.expiry <= now {
		return false, nil
	}
	e.expiry = exp
	sh.records[id] = e
	return true, nil
}

// Iterate calls fn with each live record; see sessionstore.Iterator. It
// collects a shard's live records and calls fn with no lock held, so fn may
// call the store. Each Data is a copy the caller owns.
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := s.checkOpen(ctx, "iterate"); err != nil {
		return err
	}
	type item struct {
		id string
		e  entry
	}
	var batch []item
	for i := range s.shards {
		batch = batch[:0]
		s.shards[i].live(s.nowNanos(), func(id string, e entry) { batch = append(batch, item{id, e}) })
		for _, it := range batch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memory: iterate: %w", err)
			}
			// fn may have been slow: a record that expired since is not
			// visited.
			if it.e.expiry <= s.nowNanos() {
				continue
			}
			if !fn(it.id, it.e.record()) {
				return nil
			}
		}
	}
	return nil
}

// Count returns the number of live records; see sessionstore.Counter.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.checkOpen(ctx, "count"); err != nil {
		return 0, err
	}
	n := 0
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("memory: count: %w", err)
		}
		s.shards[i].live(s.nowNanos(), func(string, entry) { n++ })
	}
	return n, nil
}

// live calls fn with each record of sh live at now, under sh's lock.
func (sh *shard) live(now int64, fn func(id string, e entry)) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for id, e := range sh.records {
		if e.expiry > now {
			fn(id, e)
		}
	}
}

// Close stops the cleanup goroutine and waits for it to return. Calls made
// after Close fail with an error wrapping sessionstore.ErrClosed. Close is
// safe to call more than once; it always returns nil.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.stop != nil {
		s.stop()
	}
	return nil
}

// shard returns the shard of id, chosen by a seeded hash so that no one can
// pick ids that all land in one.
func (t *table) shard(id string) *shard {
	return &t.shards[maphash.String(t.seed, id)>>(64-shardBits)]
}

// remove deletes id from sh, if there, keeping count. The caller holds sh.mu.
func (t *table) remove(sh *shard, id string) {
	n := len(sh.records)
	delete(sh.records, id)
	t.count.Add(int64(len(sh.records) - n))
}

// reserve counts one more stored record, unless the store is full.
func (t *table) reserve() bool {
	for {
		n := t.count.Load()
		if t.maxSessions >= 0 && n >= t.maxSessions {
			return false
		}
		if t.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
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

// check is checkOpen and a valid id.
func (s *Store) check(ctx context.Context, op, id string) error {
	if err := s.checkOpen(ctx, op); err != nil {
		return err
	}
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	return nil
}

// record returns e as a Record whose Data is the caller's copy, never nil:
// empty data round-trips as empty, not missing.
func (e entry) record() sessionstore.Record {
	return sessionstore.Record{Data: []byte(e.data), Expiry: time.Unix(0, e.expiry), Version: e.version}
}

func (t *table) nowNanos() int64 { return unixNanos(t.now()) }

// unixNanos converts t to Unix nanoseconds, clamping times beyond the int64
// range (years 1678 to 2262), where UnixNano is undefined: the zero Time
// becomes "long ago", an expiry after sessionstore.MaxExpiry "in 2262",
// which Load reports as MaxExpiry.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)
