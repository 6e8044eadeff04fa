package memcache_test

import (
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/memcache"
	"github.com/sessionstore/sessionstore/storetest"
)

// harness runs the conformance suite over client, each store under a prefix
// of its own.
func harness(client *gomemcache.Client) storetest.Harness {
	base := newPrefix(nil) // the same for every name of a run
	var opener reopen.Opener
	return storetest.Harness{
		// Keys are prefix+id: the package doc asks for prefixes of which
		// neither is a prefix of the other, so NestedNames is false.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			return newStore(t, client, memcache.Options{Prefix: base + name})
		},
		NewStore: func(t testing.TB) sessionstore.Store {
			opts := memcache.Options{Prefix: newPrefix(t)}
			return opener.Track(newStore(t, client, opts), func(t testing.TB) sessionstore.Store {
				return newStore(t, client, opts) // another client's store on the same keys
			})
		},
		OpenAgain:   opener.OpenAgain,
		MaxDataSize: memcache.DefaultMaxDataSize,
		// Load ends a record at the exact expiry in its header, whatever
		// memcached's 1-second clock does, so the suite checks "gone" at
		// the expiry itself rather than the 1 s memcached would need.
		ExpiryPrecision: 0,
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			return newStore(t, gomemcache.New(testservers.ClosedAddr(t)), memcache.Options{})
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	storetest.Run(t, harness(client))
}

// TestConformanceCluster runs the suite over three servers behind one
// client, which shards the keys over them.
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.NewCluster(t)
	storetest.Run(t, harness(client))
}
