package memcache

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore"
)

// Key layout. An id of printable ASCII that fits is stored under Prefix+id;
// every other id under Prefix+hashMarker+base64url(SHA-256(id)). An id that
// starts with hashMarker is always hashed, and the base64url alphabet has no
// hashMarker, so a plain key and a hashed key never meet.
const (
	hashMarker = '~'
	// hashedLen is the length of a hashed key after the prefix: the marker
	// and 43 base64url characters.
	hashedLen = 1 + 43
	// maxKeyLen is memcached's limit on keys, in bytes.
	maxKeyLen = 250
	// MaxPrefixLength is the longest Options.Prefix: a hashed key must fit.
	MaxPrefixLength = maxKeyLen - hashedLen
)

// Record layout. The value of an item is a 16-byte header and the data:
//
//	bytes 0–7   expiry, Unix milliseconds, big-endian
//	bytes 8–15  version, random and non-zero, big-endian
//	bytes 16–   the data, as given to Save
//
// and its flags are recordFlags, which tell a record of this format from
// anything else stored under the prefix. The version is the Store's own,
// not the item's CAS id: memcached counts CAS ids per server, so over
// several servers two ids could share one, and a version read from one id
// must never match another's record. CAS ids still make each conditional
// write atomic (gets, then cas).
const (
	headerSize    = 16
	versionOffset = 8
	recordFlags   = 0x5353_0002 // "SS", format 2
)

// Expiry conversion. memcached counts time in whole seconds, on a clock it
// advances once a second at a phase of its own: an item given a relative
// expiration of n seconds lives between n-1 and n seconds. The server
// expiration is so one second longer than the rounded-up lifetime, so that
// memcached never drops a record early; Load cuts the record off at its
// exact expiry, read from the header.
const (
	// maxRelative is the longest relative expiration memcached accepts;
	// larger values are read as Unix times.
	maxRelative = 30 * 24 * 60 * 60
	// expireNow is an expiration memcached treats as already past.
	expireNow = -1
	// noExpiration keeps an item until memcached evicts it.
	noExpiration = 0
)

// Defaults of Options.
const (
	// DefaultPrefix is the key prefix when Options.Prefix is empty.
	DefaultPrefix = "session:"
	// DefaultMaxDataSize is the data size limit when Options.MaxDataSize is
	// 0: memcached's default item size limit (-I 1m) less 1 KiB, which
	// covers the item's overhead, a 250-byte key and the record header.
	// memcached 1.6 stores up to 1 MiB - 309 bytes of value under a
	// 250-byte key.
	DefaultMaxDataSize = 1<<20 - 1<<10
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix is prepended to every key the Store writes. Stores with
	// different prefixes never see each other's sessions, as long as
	// neither prefix is a prefix of the other. It must be printable ASCII
	// without spaces, at most MaxPrefixLength bytes.
	//
	// Optional. Default is DefaultPrefix, "session:".
	Prefix string

	// MaxDataSize is the largest data, in bytes, Save and CompareAndSwap
	// accept; larger data fails with sessionstore.ErrTooLarge before
	// anything is sent. Raise it only with the servers' item size limit
	// (memcached -I): it must stay at least 1 KiB under that limit.
	//
	// Optional. Default is DefaultMaxDataSize, 1 MiB - 1 KiB.
	MaxDataSize int
}

// Store keeps sessions in memcached. It implements sessionstore.Store,
// Toucher, Swapper and io.Closer; memcached cannot list its keys, so a Store
// is no Iterator. Every method is safe for concurrent use.
type Store struct {
	client  *gomemcache.Client
	prefix  string
	maxData int

	// mu guards closed and the Add of calls against Close's Wait.
	mu     sync.RWMutex
	closed bool
	// calls counts the goroutines running a client call for a caller
	// with a cancellable context, which may have returned already.
	calls sync.WaitGroup
}

// Interfaces a Store implements, checked at compile time.
var (
	_ sessionstore.Store   = (*Store)(nil)
	_ sessionstore.Toucher = (*Store)(nil)
	_ sessionstore.Swapper = (*Store)(nil)
)

// New returns a Store over client, which may shard over several servers.
// The Store never closes client: the caller owns it. The client's Timeout
// (gomemcache.DefaultTimeout, 500 ms, when zero) bounds each network
// operation; a context ends a call sooner (see the package doc).
func New(client *gomemcache.Client, opts Options) (*Store, error) {
	prefix := cmp.Or(opts.Prefix, DefaultPrefix)
	switch {
	case client == nil:
		return nil, errors.New("memcache: new: nil client")
	case opts.MaxDataSize < 0:
		return nil, fmt.Errorf("memcache: new: negative MaxDataSize %d", opts.MaxDataSize)
	case len(prefix) > MaxPrefixLength:
		return nil, fmt.Errorf("memcache: new: prefix of %d bytes, more than %d", len(prefix), MaxPrefixLength)
	case !printable(prefix):
		return nil, fmt.Errorf("memcache: new: prefix %q has a byte memcached keys cannot hold", prefix)
	}
	return &Store{
		client:  client,
		prefix:  prefix,
		maxData: cmp.Or(opts.MaxDataSize, DefaultMaxDataSize),
	}, nil
}

// Load returns the record of id, its version included, with one get. A record past the expiry in its
// header is not found, even while memcached still holds it.
func (s *Store) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := s.check(ctx, id); err != nil {
		return sessionstore.Record{}, false, s.fail(ctx, "load", err)
	}
	item, err := s.get(ctx, s.key(id))
	if item == nil || err != nil {
		return sessionstore.Record{}, false, s.fail(ctx, "load", err)
	}
	rec, live, err := decode(item, time.Now())
	if err != nil {
		return sessionstore.Record{}, false, fmt.Errorf("memcache: load: %w", err)
	}
	return rec, live, nil
}

// Save writes data and expiry of id with one set, or one delete when the
// expiry is not in the future.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.checkWrite(ctx, id, data); err != nil {
		return s.fail(ctx, "save", err)
	}
	key := s.key(id)
	exp, live := serverExpiry(expiry, time.Now())
	var err error
	if live {
		item := &gomemcache.Item{Key: key, Value: encode(data, expiry, newVersion(0)), Flags: recordFlags, Expiration: exp}
		err = s.run(ctx, func() error { return s.client.Set(item) })
	} else {
		err = s.delete(ctx, key)
	}
	return s.fail(ctx, "save", err)
}

// Delete removes id with one delete.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx, id); err != nil {
		return s.fail(ctx, "delete", err)
	}
	return s.fail(ctx, "delete", s.delete(ctx, s.key(id)))
}

// Touch moves the expiry of a live record and keeps its version.
// memcached's own touch cannot rewrite the expiry in the record's header,
// which Load trusts, so Touch reads the record (gets) and writes it back
// with the new expiry over the CAS id it read (cas): two round trips, and
// the data travels both ways.
// When another write lands between the two, Touch reports true and leaves
// that write in place, as if the touch had happened just before it.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.check(ctx, id); err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	key := s.key(id)
	item, err := s.get(ctx, key)
	if item == nil || err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	now := time.Now()
	if _, live, err := decode(item, now); !live || err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	exp, live := serverExpiry(expiry, now)
	if !live {
		return true, s.fail(ctx, "touch", s.delete(ctx, key))
	}
	// item.Value is this Store's own copy: rewrite its expiry in place.
	binary.BigEndian.PutUint64(item.Value, uint64(expiry.UnixMilli()))
	item.Expiration = exp
	err = s.run(ctx, func() error { return s.client.CompareAndSwap(item) })
	if lost(err) {
		err = nil // a later write or delete won; the record was live and touched before it
	}
	return err == nil, s.fail(ctx, "touch", err)
}

// CompareAndSwap writes data and expiry of id over the given version with
// a gets and a cas (see swap), or, for version 0, one add. When add finds an expired record that
// memcached still holds, it reads that record and swaps it out (two round
// trips more). An expiry in the past writes an item memcached drops at once,
// so the swap still reports whether the version matched.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.checkWrite(ctx, id, data); err != nil {
		return false, s.fail(ctx, "compare and swap", err)
	}
	exp, live := serverExpiry(expiry, time.Now())
	if !live {
		exp = expireNow
	}
	item := &gomemcache.Item{Key: s.key(id), Value: encode(data, expiry, newVersion(version)), Flags: recordFlags, Expiration: exp}
	var err error
	if version == 0 {
		err = s.add(ctx, item)
	} else {
		err = s.swap(ctx, item, version)
	}
	if lost(err) {
		return false, nil
	}
	return err == nil, s.fail(ctx, "compare and swap", err)
}

// swap writes item over the live record of the given version. swap reads
// the record (gets) and writes (cas, over the CAS id it read) only when the
// record is live by its header and has that version: memcached keeps a
// record up to two seconds past the expiry in its header, and the version
// of an expired record must never win.
func (s *Store) swap(ctx context.Context, item *gomemcache.Item, version uint64) error {
	old, err := s.get(ctx, item.Key)
	if old == nil || err != nil {
		return cmp.Or(err, gomemcache.ErrCacheMiss)
	}
	rec, live, err := decode(old, time.Now())
	if !live || err != nil || rec.Version != version {
		return cmp.Or(err, gomemcache.ErrCASConflict)
	}
	item.CasID = old.CasID
	return s.run(ctx, func() error { return s.client.CompareAndSwap(item) })
}

// Close waits for the client calls that contexts ended before they returned
// (each ends within the client's Timeout), so no goroutine of the Store
// outlives Close. Every call after Close fails with sessionstore.ErrClosed.
// The client stays open: the caller owns it. Close is safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.calls.Wait()
	return nil
}

// add stores item only if no live record holds its key. memcached's add
// fails over an item that is past its header expiry but not yet dropped:
// such an item is swapped out through its CAS id instead, retried a few
// times when it disappears in the meantime.
func (s *Store) add(ctx context.Context, item *gomemcache.Item) error {
	const attempts = 3
	for range attempts {
		err := s.run(ctx, func() error { return s.client.Add(item) })
		if !errors.Is(err, gomemcache.ErrNotStored) {
			return err
		}
		old, err := s.get(ctx, item.Key)
		if err != nil {
			return err
		}
		if old == nil {
			continue // gone since add: add again
		}
		if _, live, err := decode(old, time.Now()); live || err != nil {
			return cmp.Or(err, gomemcache.ErrNotStored)
		}
		item.CasID = old.CasID
		err = s.run(ctx, func() error { return s.client.CompareAndSwap(item) })
		if !errors.Is(err, gomemcache.ErrCacheMiss) {
			return err
		}
		item.CasID = 0
	}
	return gomemcache.ErrNotStored
}

// get returns the item under key, or nil when there is none.
func (s *Store) get(ctx context.Context, key string) (*gomemcache.Item, error) {
	var item *gomemcache.Item
	err := s.run(ctx, func() error {
		var err error
		item, err = s.client.Get(key)
		return err
	})
	if errors.Is(err, gomemcache.ErrCacheMiss) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item, nil
}

// delete removes key; a missing key is no error.
func (s *Store) delete(ctx context.Context, key string) error {
	err := s.run(ctx, func() error { return s.client.Delete(key) })
	if errors.Is(err, gomemcache.ErrCacheMiss) {
		return nil
	}
	return err
}

// run calls f, a client call, bounded by ctx. gomemcache takes no context:
// under a context that can end, f runs in a goroutine of its own, and run
// returns ctx.Err() as soon as the context ends, leaving f to finish within
// the client's Timeout. Close waits for such goroutines. f must not touch
// anything its caller reads after run returned an error.
func (s *Store) run(ctx context.Context, f func() error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return sessionstore.ErrClosed
	}
	if ctx.Done() == nil {
		s.mu.RUnlock()
		return f()
	}
	s.calls.Add(1)
	s.mu.RUnlock()
	done := make(chan error, 1)
	go func() {
		defer s.calls.Done()
		done <- f()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// key returns the memcached key of id (see the key layout above).
func (s *Store) key(id string) string {
	if len(s.prefix)+len(id) <= maxKeyLen && id[0] != hashMarker && printable(id) {
		return s.prefix + id
	}
	sum := sha256.Sum256([]byte(id))
	b := make([]byte, 0, len(s.prefix)+hashedLen)
	b = append(b, s.prefix...)
	b = append(b, hashMarker)
	b = base64.RawURLEncoding.AppendEncode(b, sum[:])
	return string(b)
}

// printable reports whether every byte of s is printable ASCII other than
// space: the bytes every memcached server, proxy and client takes in a key.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// check validates the context and id every method takes.
func (s *Store) check(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return sessionstore.CheckID(id)
}

// checkWrite also validates the size of data.
func (s *Store) checkWrite(ctx context.Context, id string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return sessionstore.CheckData(id, data, s.maxData)
}

// fail wraps a non-nil err with the operation. When the context has ended,
// the error also wraps ctx.Err(): a client call may report it as a socket
// timeout.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := sessionstore.ContextErr(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("memcache: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("memcache: %s: %w", op, err)
}

// lost reports whether a conditional write failed because the record
// changed or went away: the answer of a lost race, not a failure.
func lost(err error) bool {
	return errors.Is(err, gomemcache.ErrCASConflict) ||
		errors.Is(err, gomemcache.ErrNotStored) ||
		errors.Is(err, gomemcache.ErrCacheMiss)
}

// encode returns the stored value: header, then data.
func encode(data []byte, expiry time.Time, version uint64) []byte {
	val := make([]byte, headerSize+len(data))
	binary.BigEndian.PutUint64(val, uint64(expiry.UnixMilli()))
	binary.BigEndian.PutUint64(val[versionOffset:], version)
	copy(val[headerSize:], data)
	return val
}

// newVersion returns a random non-zero version other than old. Random
// rather than counted, so that no server keeps a counter that a restart or
// an eviction would reset, and a session deleted and created again never
// repeats a version a client may still hold.
func newVersion(old uint64) uint64 {
	for {
		if v := rand.Uint64(); v != 0 && v != old {
			return v
		}
	}
}

// decode parses an item and reports whether its record is live at now.
func decode(item *gomemcache.Item, now time.Time) (rec sessionstore.Record, live bool, err error) {
	if item.Flags != recordFlags || len(item.Value) < headerSize {
		// Keys stay out of the message: they may hold live session ids.
		return rec, false, fmt.Errorf("an item of %d bytes with flags %#x under the prefix is not a session record",
			len(item.Value), item.Flags)
	}
	ms := int64(binary.BigEndian.Uint64(item.Value))
	if ms <= now.UnixMilli() {
		return rec, false, nil
	}
	return sessionstore.Record{
		Data:    item.Value[headerSize:],
		Expiry:  time.UnixMilli(ms),
		Version: binary.BigEndian.Uint64(item.Value[versionOffset:]),
	}, true, nil
}

// serverExpiry returns the memcached expiration of a record that must live
// until expiry, seen at now, and false when expiry is not after now.
//
// A lifetime of up to 30 days is sent as relative seconds: the lifetime
// rounded up, plus one second for memcached's clock (see above), so the item
// outlives its expiry by less than two seconds and never dies before it.
// Longer lifetimes are sent as a Unix time, rounded up plus one second, as
// memcached reads any larger number as one. One beyond what an int32 holds
// (2038) is sent as no expiration: memcached keeps the item until it evicts
// it, and Load still ends the record at its expiry.
func serverExpiry(expiry, now time.Time) (int32, bool) {
	ms := expiry.UnixMilli() - now.UnixMilli()
	if ms <= 0 {
		return 0, false
	}
	if secs := ceilDiv(ms, 1000) + 1; secs <= maxRelative {
		return int32(secs), true
	}
	unix := ceilDiv(expiry.UnixMilli(), 1000) + 1
	if unix > math.MaxInt32 {
		return noExpiration, true
	}
	return int32(unix), true
}

// ceilDiv returns a/b rounded up, for a > 0 and b > 0.
func ceilDiv(a, b int64) int64 {
	return (a + b - 1) / b
}
