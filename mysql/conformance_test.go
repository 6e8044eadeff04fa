package mysql_test

import (
	"database/sql"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/mysql"
	"github.com/sessionstore/sessionstore/storetest"
)

// TestMain stops the containers the tests started.
func TestMain(m *testing.M) { testservers.Main(m) }

// newDB returns a *sql.DB of the MariaDB server shared by the tests.
func newDB(t testing.TB) *sql.DB {
	t.Helper()
	db, _ := mysqltest.New(t)
	return db
}

// harness runs the conformance suite on stores over their own tables of the
// server of db, each with a cleanup running every 50 ms beside the checks.
func harness(db *sql.DB) storetest.Harness {
	base := newTableName("named") // the same for every name of a run
	var opener reopen.Opener
	return storetest.Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			opts := mysql.Options{Table: newTableName("sessions"), CleanupInterval: 50 * time.Millisecond}
			return opener.Track(newStore(t, db, opts), func(t testing.TB) sessionstore.Store {
				// Another client on the same table: its own cleanup runs too.
				s, err := mysql.New(db, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		},
		OpenAgain:           opener.OpenAgain,
		MaxDataSize:         mysql.DefaultMaxDataSize,
		NewUnreachableStore: newUnreachableStore,
		// A table per name: quoted, so case and every character count
		// (the server's lower_case_table_names is 0, as on every Linux
		// server by default); a name longer than 64 characters is refused.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			table := base + "_" + name
			if _, err := mysql.New(db, mysql.Options{Table: table}); err != nil {
				t.Logf("mysql.New refuses the table %q: %v", table, err)
				return nil
			}
			return newStore(t, db, mysql.Options{Table: table, CleanupInterval: 50 * time.Millisecond})
		},
		NestedNames: true,
	}
}

// newUnreachableStore returns a store over a *sql.DB whose server address is
// a port nothing listens on.
func newUnreachableStore(t testing.TB) sessionstore.Store {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", testservers.ClosedAddr(t), "none"
	cfg.Timeout = 5 * time.Second
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	s, err := mysql.New(db, mysql.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness(newDB(t)))
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, harness(newDB(b)))
}
