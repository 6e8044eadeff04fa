package sessionstore

import (
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// keyCache remembers the store keys of recently seen ids, so that the
// requests of a returning visitor skip the SHA-256 of its id: on a CPU
// without SHA instructions that hash is a third of what the Manager adds
// to a read-only request. It is direct-mapped: a seeded hash of the id
// picks its slot, and the newest id of a slot takes it. Ids are compared
// in constant time, so the time a lookup takes tells an attacker nothing
// about a cached id beyond whether theirs equals it.
type keyCache struct {
	once  sync.Once
	seed  maphash.Seed
	slots []atomic.Pointer[cachedKey]
}

// cachedKey is an id and its store key.
type cachedKey struct{ id, key string }

// keyCacheSlots is the number of ids remembered at most: about 600 KiB
// when full.
const keyCacheSlots = 4096

// key returns hashID(id), from the cache when it holds id.
func (c *keyCache) key(id string) string {
	c.once.Do(func() {
		c.seed = maphash.MakeSeed()
		c.slots = make([]atomic.Pointer[cachedKey], keyCacheSlots)
	})
	slot := &c.slots[maphash.String(c.seed, id)%keyCacheSlots]
	if p := slot.Load(); p != nil && subtle.ConstantTimeCompare(bytesOf(p.id), bytesOf(id)) == 1 {
		return p.key
	}
	key := hashID(id)
	// A copy of id: the request's id may be a slice of its whole Cookie
	// header, which the cache would otherwise keep alive.
	slot.Store(&cachedKey{id: strings.Clone(id), key: key})
	return key
}

// bytesOf returns the bytes of s without a copy, for reading only.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
