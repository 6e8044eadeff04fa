package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/mysql"
)

func Example() {
	ctx := context.Background()
	// The application's own *sql.DB (a DSN such as
	// "user:password@tcp(localhost:3306)/app"); the store never closes it.
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// Keep as many idle connections as open ones: each new connection
	// prepares the store's statements again.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)

	store, err := mysql.New(db, mysql.Options{Table: "sessions"})
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
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := mysql.New(db, mysql.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.CreateTable(context.Background()); err != nil {
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
	db, err := sql.Open("mysql", "app@tcp(localhost:3306)/app") // Open does not connect
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := mysql.New(db, mysql.Options{Table: "app.sessions", CleanupInterval: -1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(store.Schema())
	// Output:
	// CREATE TABLE IF NOT EXISTS `app`.`sessions` (
	//     id      VARBINARY(256)  NOT NULL,
	//     data    LONGBLOB        NOT NULL,
	//     expiry  BIGINT          NOT NULL,
	//     version BIGINT UNSIGNED NOT NULL,
	//     PRIMARY KEY (id),
	//     INDEX expiry_idx (expiry)
	// ) ENGINE=InnoDB;
}
