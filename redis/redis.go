package redis

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore"
)

// Offsets in a stored value: every session is one Redis string under
// Prefix+id holding this header, then the data (see the package doc).
const (
	expiryOffset  = 0 // Unix milliseconds, big-endian, the same instant as the key's PXAT
	versionOffset = 8 // big-endian uint64, never zero
	headerSize    = 16
)

// Defaults of Options.
const (
	// DefaultPrefix is the key prefix when Options.Prefix is empty.
	DefaultPrefix = "session:"
	// DefaultMaxDataSize is the data size limit when Options.MaxDataSize is 0.
	DefaultMaxDataSize = 1 << 20
	// DefaultScanCount is the SCAN COUNT hint when Options.ScanCount is 0.
	DefaultScanCount = 1000
)

// The scripts read only the 16-byte header (GETRANGE 0 15), never the data,
// and compare its expiry with the application's clock passed in ARGV, so a
// record this store would not load is treated as absent even in the
// milliseconds before Redis expires it. Lua numbers are doubles: Unix
// milliseconds stay exact until the year 287396.
const luaHeaderExpiry = `
local function expiry(h)
  local n = 0
  for i = 1, 8 do n = n * 256 + string.byte(h, i) end
  return n
end
`

// touchScript moves the expiry of a live record: the header (SETRANGE keeps
// the key's TTL) and the key's PEXPIREAT together, atomically.
//
//	KEYS[1] the key; ARGV[1] now (Unix ms); ARGV[2] new expiry (Unix ms);
//	ARGV[3] new expiry as the 8 header bytes.
//
// Returns 1 if a live record existed, else 0.
var touchScript = goredis.NewScript(luaHeaderExpiry + `
local h = redis.call('GETRANGE', KEYS[1], 0, 15)
local now = tonumber(ARGV[1])
if #h < 16 or expiry(h) <= now then return 0 end
if tonumber(ARGV[2]) <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SETRANGE', KEYS[1], 0, ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
`)

// casScript writes a whole record if the live record's version is the
// expected one; an absent or expired record has the version of eight zero
// bytes.
//
// It also returns 1 when the live record already has the version the new
// value carries: go-redis sends a command again when its answer was lost on
// the way back (a connection reset after the script ran), and the second run
// must report the write the first one made, not a lost swap (the Manager
// would apply the request's changes a second time). Versions are random, so
// only this very swap can have written that one.
//
//	KEYS[1] the key; ARGV[1] expected version (8 bytes); ARGV[2] now (Unix ms);
//	ARGV[3] new expiry (Unix ms); ARGV[4] new value (header and data).
//
// Returns 1 if it wrote (or had written), else 0.
var casScript = goredis.NewScript(luaHeaderExpiry + `
local h = redis.call('GETRANGE', KEYS[1], 0, 15)
local now = tonumber(ARGV[2])
local current = string.rep('\0', 8)
if #h == 16 and expiry(h) > now then current = string.sub(h, 9, 16) end
if #ARGV[4] >= 16 and current == string.sub(ARGV[4], 9, 16) then return 1 end
if current ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[3])
end
return 1
`)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix is prepended to every session id to form its Redis key.
	// Stores with different prefixes never see each other's sessions, as
	// long as neither prefix is a prefix of the other ("session:" and
	// "session:admin:" would overlap in Iterate). Nothing else may write
	// keys under it.
	//
	// Optional. Default is DefaultPrefix, "session:".
	Prefix string

	// MaxDataSize is the largest data, in bytes, Save and CompareAndSwap
	// accept; larger data fails with sessionstore.ErrTooLarge. Redis allows
	// values up to its proto-max-bulk-len (512 MB by default), but Redis
	// runs commands one at a time, so one huge session delays every other
	// client: raise it only knowingly.
	//
	// Optional. Default is DefaultMaxDataSize, 1 MiB.
	MaxDataSize int

	// ScanCount is the COUNT hint of the SCAN commands Iterate and Count
	// send, and so roughly the number of keys read per round trip. Iterate
	// holds one such batch of records in memory at a time.
	//
	// Optional. Default is DefaultScanCount, 1000.
	ScanCount int
}

// Store keeps sessions in Redis. It implements sessionstore.Store, Toucher,
// Swapper, Iterator, Counter and io.Closer. Every method is safe for
// concurrent use.
type Store struct {
	client    goredis.UniversalClient
	prefix    string
	match     string // SCAN pattern: the prefix with glob characters escaped, then *
	maxData   int
	scanCount int64
}

// Interfaces a Store implements, checked at compile time.
var (
	_ sessionstore.Store    = (*Store)(nil)
	_ sessionstore.Toucher  = (*Store)(nil)
	_ sessionstore.Swapper  = (*Store)(nil)
	_ sessionstore.Iterator = (*Store)(nil)
	_ sessionstore.Counter  = (*Store)(nil)
	_ io.Closer             = (*Store)(nil)
)

// New returns a Store over client: a *goredis.Client (one server, or Sentinel
// failover through goredis.NewFailoverClient), a *goredis.ClusterClient or a
// *goredis.Ring. The Store never closes client: the caller owns it.
//
// Give the client ContextTimeoutEnabled: true, or go-redis bounds socket
// reads and writes by its ReadTimeout and WriteTimeout instead of the
// context's deadline.
func New(client goredis.UniversalClient, opts Options) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("redis: new: nil client")
	case opts.MaxDataSize < 0:
		return nil, fmt.Errorf("redis: new: negative MaxDataSize %d", opts.MaxDataSize)
	case opts.ScanCount < 0:
		return nil, fmt.Errorf("redis: new: negative ScanCount %d", opts.ScanCount)
	}
	s := &Store{
		client:    client,
		prefix:    cmp.Or(opts.Prefix, DefaultPrefix),
		maxData:   cmp.Or(opts.MaxDataSize, DefaultMaxDataSize),
		scanCount: int64(cmp.Or(opts.ScanCount, DefaultScanCount)),
	}
	s.match = escapeGlob(s.prefix) + "*"
	return s, nil
}

// Load returns the record of id with one GET.
func (s *Store) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	if err := s.check(ctx, id); err != nil {
		return sessionstore.Record{}, false, s.fail(ctx, "load", err)
	}
	val, err := s.client.Get(ctx, s.prefix+id).Result()
	if errors.Is(err, goredis.Nil) {
		return sessionstore.Record{}, false, nil
	}
	if err != nil {
		return sessionstore.Record{}, false, s.fail(ctx, "load", err)
	}
	rec, live, err := decode(val, time.Now())
	if err != nil {
		return sessionstore.Record{}, false, fmt.Errorf("redis: load: %w", err)
	}
	return rec, live, nil
}

// Save writes data and expiry of id with one SET … PXAT, or DEL when the
// expiry is not in the future, so no key of this store ever lacks a TTL.
// It gives the record a new random version.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.checkWrite(ctx, id, data); err != nil {
		return s.fail(ctx, "save", err)
	}
	key := s.prefix + id
	var err error
	if ms, ok := futureMillis(expiry, time.Now()); ok {
		err = s.client.Do(ctx, "set", key, encode(data, ms, newVersion(0)), "pxat", ms).Err()
	} else {
		err = s.client.Del(ctx, key).Err()
	}
	if err != nil {
		return s.fail(ctx, "save", err)
	}
	return nil
}

// Delete removes id with one DEL.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.check(ctx, id); err != nil {
		return s.fail(ctx, "delete", err)
	}
	if err := s.client.Del(ctx, s.prefix+id).Err(); err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of a live record with one script call (EVALSHA),
// leaving its data and version as they are.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	if err := s.check(ctx, id); err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	now := time.Now()
	ms := expiry.UnixMilli()
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(ms))
	n, err := touchScript.Run(ctx, s.client, []string{s.prefix + id}, now.UnixMilli(), ms, hdr[:]).Int()
	if err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	return n == 1, nil
}

// CompareAndSwap writes data and expiry of id only if its live record has
// the given version (0: only if none is live), with one script call. The
// record gets a new random version, so an old version never matches again,
// not even after the session was deleted and created anew.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if err := s.checkWrite(ctx, id, data); err != nil {
		return false, s.fail(ctx, "compare and swap", err)
	}
	now := time.Now()
	var want [8]byte
	binary.BigEndian.PutUint64(want[:], version)
	ms, future := futureMillis(expiry, now)
	var val []byte // not sent when the swap deletes
	if future {
		val = encode(data, ms, newVersion(version))
	} else {
		ms = now.UnixMilli() // any time not after now means "delete"
	}
	n, err := casScript.Run(ctx, s.client, []string{s.prefix + id}, want[:], now.UnixMilli(), ms, val).Int()
	if err != nil {
		return false, s.fail(ctx, "compare and swap", err)
	}
	return n == 1, nil
}

// Iterate calls fn for each live record of this store. It SCANs every master
// of a Cluster (every shard of a Ring) in turn, reading each batch of keys
// with one pipeline of GETs, and calls fn from the calling goroutine.
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	stop := errors.New("stop")
	err := s.scan(ctx, func(node goredis.Cmdable, keys []string) error {
		pipe := node.Pipeline()
		gets := make([]*goredis.StringCmd, len(keys))
		for i, k := range keys {
			gets[i] = pipe.Get(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
		now := time.Now()
		for i, get := range gets {
			val, err := get.Result()
			if errors.Is(err, goredis.Nil) { // deleted or expired since SCAN
				continue
			}
			if err != nil {
				return err
			}
			rec, live, err := decode(val, now)
			if err != nil {
				return err
			}
			if !live {
				continue
			}
			if !fn(keys[i][len(s.prefix):], rec) {
				return stop
			}
			if err := ctx.Err(); err != nil { // fn may have ended it
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return s.fail(ctx, "iterate", err)
	}
	return nil
}

// Count returns the number of live records, walking the keys as Iterate does
// but reading only each record's 8-byte expiry.
func (s *Store) Count(ctx context.Context) (int, error) {
	count := 0
	err := s.scan(ctx, func(node goredis.Cmdable, keys []string) error {
		pipe := node.Pipeline()
		heads := make([]*goredis.StringCmd, len(keys))
		for i, k := range keys {
			heads[i] = pipe.GetRange(ctx, k, expiryOffset, expiryOffset+7)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		for _, h := range heads {
			// A key gone since SCAN reads as "".
			if v := h.Val(); len(v) == 8 && int64(binary.BigEndian.Uint64([]byte(v))) > now {
				count++
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(ctx, "count", err)
	}
	return count, nil
}

// Close does nothing and returns nil: the Store runs no background work
// (Redis expires keys itself) and does not own the client, which the caller
// closes. A Store keeps working after Close. Close is safe to call twice.
func (s *Store) Close() error {
	return nil
}

// scan calls batch with each non-empty batch of keys under the prefix, node
// by node, with the node that holds them.
func (s *Store) scan(ctx context.Context, batch func(node goredis.Cmdable, keys []string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return err
	}
	for _, node := range nodes {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, s.match, s.scanCount).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if err := batch(node, keys); err != nil {
					return err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// nodes returns the servers that hold keys: every master of a Cluster, every
// live shard of a Ring, else the client itself.
func (s *Store) nodes(ctx context.Context) ([]goredis.Cmdable, error) {
	var (
		mu    sync.Mutex
		nodes []goredis.Cmdable
	)
	collect := func(_ context.Context, c *goredis.Client) error {
		mu.Lock() // ForEachMaster and ForEachShard call it concurrently
		defer mu.Unlock()
		nodes = append(nodes, c)
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		err = c.ForEachMaster(ctx, collect)
	case *goredis.Ring:
		err = c.ForEachShard(ctx, collect)
	default:
		nodes = []goredis.Cmdable{s.client}
	}
	return nodes, err
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

// fail wraps err with the operation. When the context has ended, the error
// also wraps ctx.Err(): go-redis may report a deadline as a socket timeout.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if cerr := sessionstore.ContextErr(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redis: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// encode returns the stored value: header, then data.
func encode(data []byte, expiryMillis int64, version uint64) []byte {
	val := make([]byte, headerSize+len(data))
	binary.BigEndian.PutUint64(val[expiryOffset:], uint64(expiryMillis))
	binary.BigEndian.PutUint64(val[versionOffset:], version)
	copy(val[headerSize:], data)
	return val
}

// decode parses a stored value and reports whether it is live at now.
func decode(val string, now time.Time) (rec sessionstore.Record, live bool, err error) {
	if len(val) < headerSize {
		// Ids stay out of the message: they may be live session ids.
		return rec, false, fmt.Errorf("a value of %d bytes under the prefix is not a session record", len(val))
	}
	ms := int64(binary.BigEndian.Uint64([]byte(val[expiryOffset : expiryOffset+8])))
	if ms <= now.UnixMilli() {
		return rec, false, nil
	}
	rec.Expiry = time.UnixMilli(ms)
	rec.Version = binary.BigEndian.Uint64([]byte(val[versionOffset : versionOffset+8]))
	rec.Data = []byte(val[headerSize:])
	return rec, true, nil
}

// futureMillis returns expiry in Unix milliseconds, truncated, and whether
// that instant is still after now. Truncation makes a record expire up to a
// millisecond early, never late.
func futureMillis(expiry, now time.Time) (int64, bool) {
	ms := expiry.UnixMilli()
	return ms, ms > now.UnixMilli()
}

// newVersion returns a random non-zero version other than old. Random rather
// than counted, so that a session deleted and created again never repeats a
// version a client may still hold.
func newVersion(old uint64) uint64 {
	for {
		if v := rand.Uint64(); v != 0 && v != old {
			return v
		}
	}
}

// escapeGlob escapes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
