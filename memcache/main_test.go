package memcache_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memcache"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// newPrefix returns a key prefix no other test uses: the servers are shared.
func newPrefix(t testing.TB) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "sessionstore-test:" + hex.EncodeToString(b) + ":"
}

// newStore returns a Store with a fresh prefix (unless opts has one) over
// client, closed when the test ends. Its items expire on their own: memcached
// cannot list keys to remove them.
func newStore(t testing.TB, client *gomemcache.Client, opts memcache.Options) *memcache.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = newPrefix(t)
	}
	s, err := memcache.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
