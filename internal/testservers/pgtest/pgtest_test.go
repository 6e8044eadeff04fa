package pgtest_test

import (
	"testing"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSmoke writes and reads a row through pgx, so that a broken image fails here first.
func TestSmoke(t *testing.T) {
	t.Parallel()
	pool, srv := pgtest.New(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE pgtest_smoke (id text PRIMARY KEY, data bytea NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(t.Context(), `DROP TABLE pgtest_smoke`) })

	want := []byte("hello\x00world")
	if _, err := pool.Exec(ctx, `INSERT INTO pgtest_smoke (id, data) VALUES ($1, $2)`, "a", want); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := pool.QueryRow(ctx, `SELECT data FROM pgtest_smoke WHERE id = $1`, "a").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("read %q from %s, want %q", got, srv.Addr, want)
	}
}

// TestDedicatedRestart checks that a dedicated server comes back at the same address after
// Stop and Start, and that the pool reconnects to it.
func TestDedicatedRestart(t *testing.T) {
	t.Parallel()
	pool, srv := pgtest.New(t, testservers.Dedicated())
	shared, sharedSrv := pgtest.New(t)
	if srv.Addr == sharedSrv.Addr {
		t.Fatalf("dedicated server shares the address %s", srv.Addr)
	}
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE restart (n int)`); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	srv.Stop(t)
	if err := pool.Ping(ctx); err == nil {
		t.Fatal("ping of a stopped server succeeded")
	}
	if err := shared.Ping(ctx); err != nil {
		t.Fatalf("the shared server went down with the dedicated one: %v", err)
	}
	srv.Start(t)
	if srv.Addr != addr {
		t.Fatalf("address changed from %s to %s", addr, srv.Addr)
	}
	// The table survives the restart: Stop is a stop, not a new container.
	if _, err := pool.Exec(ctx, `INSERT INTO restart VALUES (1)`); err != nil {
		t.Fatal(err)
	}
}
