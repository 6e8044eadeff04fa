package sqlite_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/sessionstore/sessionstore/sqlite"
)

// openStore opens a store over a new database file in t's temporary
// directory, with the cleanup off unless opts asks for it, and closes it when
// the test ends. It returns the path too, for tests that open it again.
func openStore(t testing.TB, opts sqlite.Options) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	return openPath(t, path, opts), path
}

// openPath opens a store over the file at path and closes it when the test
// ends.
func openPath(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	if opts.CleanupInterval == 0 {
		opts.CleanupInterval = -1 // tests that want the cleanup ask for it
	}
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openDB opens the file at path with the driver, the way an application
// hands its own *sql.DB to New, and closes it when the test ends.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
