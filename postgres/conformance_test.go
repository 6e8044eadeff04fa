package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/reopen"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/postgres"
	"github.com/sessionstore/sessionstore/storetest"
)

// TestMain stops the containers the tests started.
func TestMain(m *testing.M) { testservers.Main(m) }

// newPool returns a pool to the PostgreSQL server shared by the tests.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := pgtest.New(t)
	return pool
}

// harness runs the conformance suite on stores over their own tables of the
// server of pool, each with a cleanup running every 50 ms beside the checks.
func harness(pool *pgxpool.Pool) storetest.Harness {
	base := newTableName("named") // the same for every name of a run
	var opener reopen.Opener
	return storetest.Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			opts := postgres.Options{Table: newTableName("sessions"), CleanupInterval: 50 * time.Millisecond}
			return opener.Track(newStore(t, pool, opts), func(t testing.TB) sessionstore.Store {
				// Another client on the same table: its own cleanup runs too.
				s, err := postgres.New(pool, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		},
		OpenAgain:           opener.OpenAgain,
		MaxDataSize:         postgres.DefaultMaxDataSize,
		NewUnreachableStore: newUnreachableStore,
		// A table per name: quoted, so case and every character count, and
		// a name too long for an identifier is shortened with a hash.
		NewNamedStore: func(t testing.TB, name string) sessionstore.Store {
			table := base + "_" + name
			if _, err := postgres.New(pool, postgres.Options{Table: table}); err != nil {
				// New refuses a name the server would cut: as safe as
				// keeping the two apart.
				t.Logf("postgres.New refuses the table %q: %v", table, err)
				return nil
			}
			return newStore(t, pool, postgres.Options{Table: table, CleanupInterval: 50 * time.Millisecond})
		},
		NestedNames: true,
	}
}

// newUnreachableStore returns a store over a pool whose server address is a
// port nothing listens on.
func newUnreachableStore(t testing.TB) sessionstore.Store {
	t.Helper()
	addr := testservers.ClosedAddr(t)
	pool, err := pgxpool.New(context.Background(), fmt.Sprintf("postgres://postgres@%s/postgres?connect_timeout=5", addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := postgres.New(pool, postgres.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness(newPool(t)))
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, harness(newPool(b)))
}
