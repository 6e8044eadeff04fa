package mysqltest_test

import (
	"testing"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// TestSmoke writes and reads a row through database/sql, so that a broken image fails here
// first.
func TestSmoke(t *testing.T) {
	t.Parallel()
	db, srv := mysqltest.New(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE mysqltest_smoke (id VARBINARY(16) PRIMARY KEY, data LONGBLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.ExecContext(t.Context(), `DROP TABLE mysqltest_smoke`) })

	want := []byte("hello\x00world\xff")
	if _, err := db.ExecContext(ctx, `INSERT INTO mysqltest_smoke (id, data) VALUES (?, ?)`, "a", want); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := db.QueryRowContext(ctx, `SELECT data FROM mysqltest_smoke WHERE id = ?`, "a").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("read %q from %s, want %q", got, srv.Addr, want)
	}
}

// TestDedicatedRestart checks that a dedicated server comes back at the same address after
// Stop and Start, with its data, and that the *sql.DB reconnects to it.
func TestDedicatedRestart(t *testing.T) {
	t.Parallel()
	db, srv := mysqltest.New(t, testservers.Dedicated())
	_, sharedSrv := mysqltest.New(t)
	if srv.Addr == sharedSrv.Addr {
		t.Fatalf("dedicated server shares the address %s", srv.Addr)
	}
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE restart (n int)`); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	srv.Stop(t)
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping of a stopped server succeeded")
	}
	srv.Start(t)
	if srv.Addr != addr {
		t.Fatalf("address changed from %s to %s", addr, srv.Addr)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO restart VALUES (1)`); err != nil {
		t.Fatal(err)
	}
}
