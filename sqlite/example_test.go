package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for New

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// Open creates the file, puts it in WAL mode and creates the table.
	store, err := sqlite.Open(ctx, filepath.Join(dir, "sessions.db"), sqlite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Save(ctx, "session-id", []byte(`{"user":"alice"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	store.Close() // stops the cleanup and closes the database

	// The session is still there after a restart.
	store, err = sqlite.Open(ctx, filepath.Join(dir, "sessions.db"), sqlite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	rec, found, err := store.Load(ctx, "session-id")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(rec.Data))
	// Output: true {"user":"alice"}
}

// A store over the application's own database, next to its other tables.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// busy_timeout lets SQLite wait for the write lock of other processes.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // the application's: the store never closes it

	store, err := sqlite.New(db, sqlite.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the background cleanup

	// Or run store.Schema() in a migration instead.
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	n, err := store.Count(ctx)
	fmt.Println(n, err)
	// Output: 0 <nil>
}

// A Store plugged into the sessionstore Manager and its middleware.
func Example_manager() {
	store, err := sqlite.Open(context.Background(), "sessions.db", sqlite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	m := sessionstore.New(store)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Put("visits", s.GetInt("visits")+1)
		fmt.Fprintf(w, "visits: %d\n", s.GetInt("visits"))
	})
	log.Fatal(http.ListenAndServe(":8080", m.Handler(mux)))
}
