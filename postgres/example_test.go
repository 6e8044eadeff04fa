package postgres_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/postgres"
)

func Example() {
	ctx := context.Background()
	// The application's own pool; the store never closes it.
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store, err := postgres.New(pool, postgres.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the background cleanup

	// Or run store.Schema() in a migration instead.
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	if err := store.Save(ctx, "session-id", []byte(`{"user":"alice"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	rec, found, err := store.Load(ctx, "session-id")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(rec.Data))
}

// A Store plugged into the sessionstore Manager and its middleware.
func Example_manager() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := postgres.New(pool, postgres.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	sessions := sessionstore.New(store)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		n, _ := sessionstore.Get[int](s, "visits")
		s.Put("visits", n+1)
		fmt.Fprintln(w, "visits:", n+1)
	})
	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(mux)))
}

// Schema prints the SQL CreateTable runs, for a migration.
func ExampleStore_Schema() {
	pool, err := pgxpool.New(context.Background(), "postgres://localhost/app") // New does not connect
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := postgres.New(pool, postgres.Options{Table: "app.sessions", CleanupInterval: -1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(store.Schema())
	// Output:
	// CREATE TABLE IF NOT EXISTS "app"."sessions" (
	//     id      bytea       PRIMARY KEY,
	//     data    bytea       NOT NULL,
	//     expiry  timestamptz NOT NULL,
	//     version bigint      NOT NULL
	// );
	// CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "app"."sessions" (expiry);
}
