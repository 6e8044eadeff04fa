package mongo_test

import (
	"context"
	"fmt"
	"log"
	"time"

	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionstore/sessionstore/mongo"
)

// A store over the collection "sessions" of the application's database.
// EnsureIndexes runs once at start-up: it creates the TTL index on MongoDB,
// or starts the store's own cleanup on a server without TTL indexes, which
// Close stops.
func ExampleNew() {
	ctx := context.Background()
	client, err := mongodriver.Connect(options.Client().ApplyURI("mongodb://localhost:27017"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)

	store, err := mongo.New(client.Database("app"), mongo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.EnsureIndexes(ctx); err != nil {
		log.Fatal(err)
	}

	if err := store.Save(ctx, "session-id", []byte("encoded session"), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	rec, found, err := store.Load(ctx, "session-id")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(rec.Data))
}
