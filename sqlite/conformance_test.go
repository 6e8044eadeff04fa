package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/sqlite"
	"github.com/sessionstore/sessionstore/storetest"
)

// harness runs the conformance suite on stores over their own database files,
// each with a cleanup running every 50 ms beside the checks. Named stores are
// tables of one shared file, opened with New over one *sql.DB, as an
// application keeping several stores in its database would.
func harness(t testing.TB) storetest.Harness {
	shared := openDB(t, filepath.Join(t.TempDir(), "named.db"))
	var opener reopen.Opener
	return storetest.Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			opts := sqlite.Options{CleanupInterval: 50 * time.Millisecond}
			s, path := openStore(t, opts)
			// Another handle is another Open of the same file, as another
			// process or the program after a restart would open it.
			return opener.Track(s, func(t testing.TB) sessionstore.Store { return openPath(t, path, opts) })
		},
		OpenAgain:           opener.OpenAgain,
		MaxDataSize:         sqlite.DefaultMaxDataSize,
		NewUnreachableStore: newUnreachableStore,
		// A table per name. SQLite ignores ASCII case in table names, so
		// New refuses upper case: as safe as keeping the two apart.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			s, err := sqlite.New(shared, sqlite.Options{Table: "named_" + name, CleanupInterval: 50 * time.Millisecond})
			if err != nil {
				t.Logf("sqlite.New refuses the table %q: %v", "named_"+name, err)
				return nil
			}
			t.Cleanup(func() { s.Close() })
			if err := s.CreateTable(context.Background()); err != nil {
				t.Fatalf("CreateTable: %v", err)
			}
			return s
		},
		NestedNames: true,
	}
}

// newUnreachableStore returns a store over a database file in a directory
// that does not exist: SQLite cannot open it, the nearest an embedded
// database comes to a server that does not answer.
func newUnreachableStore(t testing.TB) sessionstore.Store {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "missing", "dir", "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlite.New(db, sqlite.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness(t))
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, harness(b))
}
