package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionstore/sessionstore/redis"
)

// A Store over the application's own client. The same code takes a
// *goredis.ClusterClient or a failover client.
func Example() {
	client := goredis.NewClient(&goredis.Options{
		Addr:                  "localhost:6379",
		ContextTimeoutEnabled: true, // let deadlines bound socket reads and writes
	})
	defer client.Close()

	store, err := redis.New(client, redis.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Stored as the key "myapp:session:id-1", expiring in Redis at the same
	// millisecond as the record.
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
	client := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 []string{"localhost:7000"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redis.New(client, redis.Options{})
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
