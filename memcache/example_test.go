package memcache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore/memcache"
)

// A Store over the application's own client, which shards sessions over
// three servers.
func Example() {
	client := gomemcache.New("cache1:11211", "cache2:11211", "cache3:11211")
	client.Timeout = 200 * time.Millisecond // the longest one network operation may take
	client.MaxIdleConns = 64                // above the peak of concurrent requests

	store, err := memcache.New(client, memcache.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Stored as the item "myapp:session:id-1" on one of the three servers.
	if err := store.Save(ctx, "id-1", []byte("encoded session"), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	rec, found, err := store.Load(ctx, "id-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(rec.Data))
}

// Concurrent requests of one session merge instead of overwriting each
// other: a write succeeds only over the version it read.
func ExampleStore_CompareAndSwap() {
	store, err := memcache.New(gomemcache.New("localhost:11211"), memcache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	rec, _, err := store.Load(ctx, "id-1") // Version 0 when there is no session yet
	if err != nil {
		log.Fatal(err)
	}
	swapped, err := store.CompareAndSwap(ctx, "id-1", rec.Version, []byte("new data"), time.Now().Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	if !swapped {
		fmt.Println("another request wrote first: reload, re-apply, retry")
	}
}
