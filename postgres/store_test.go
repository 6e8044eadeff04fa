package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/postgres"
)

func TestNewRejects(t *testing.T) {
	pool := lazyPool(t)
	if _, err := postgres.New(nil, postgres.Options{}); err == nil {
		t.Error("New(nil pool) succeeded")
	}
	for _, opts := range []postgres.Options{
		{Table: "a.b.c"},
		{Table: "."},
		{Table: "app."},
		{Table: ".sessions"},
		{Table: "nul\x00byte"},
		{Table: strings.Repeat("x", 64)},
		{Table: "app." + strings.Repeat("x", 64)},
		{MaxDataSize: -1},
		{CleanupBatchSize: -1},
	} {
		if s, err := postgres.New(pool, opts); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", opts)
		} else if !strings.HasPrefix(err.Error(), "postgres: new: ") {
			t.Errorf("New(%+v): error %q lacks the package and operation", opts, err)
		}
	}
}

// The SQL in the package doc is the SQL CreateTable runs, so people who run
// migrations themselves create exactly the schema the store expects.
func TestSchemaInPackageDoc(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	s, err := postgres.New(lazyPool(t), postgres.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(s.Schema()) {
		if !strings.Contains(doc, "\t"+line) {
			t.Errorf("package doc lacks schema line %q", line)
		}
	}
}

func TestCreateTable(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()

	t.Run("Idempotent", func(t *testing.T) {
		s := newStore(t, pool, postgres.Options{})
		if err := s.Save(ctx, "kept", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.CreateTable(ctx); err != nil {
				t.Fatalf("CreateTable again: %v", err)
			}
		}
		if _, found, err := s.Load(ctx, "kept"); !found || err != nil {
			t.Fatalf("after CreateTable again: found %v, err %v; want the session kept", found, err)
		}
	})

	// Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS fails
	// now and then with a unique violation on pg_type; several rounds make
	// the race likely.
	t.Run("Concurrent", func(t *testing.T) {
		wide := tracedPool(t, pool, &tracer{}, 8)
		for round := range 5 {
			table := newTableName("concurrent")
			t.Cleanup(func() { dropTable(t, pool, table) })
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					s, err := postgres.New(wide, postgres.Options{Table: table, CleanupInterval: -1})
					if err == nil {
						err = s.CreateTable(ctx)
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("round %d: concurrent CreateTable: %v", round, err)
				}
			}
			if n := countIndexes(t, pool, "public", table); n != 1 {
				t.Errorf("round %d: %d expiry indexes, want 1", round, n)
			}
		}
	})

	t.Run("SchemaQualified", func(t *testing.T) {
		schema := newTableName("app")
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+quote(schema)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Exec(ctx, "DROP SCHEMA "+quote(schema)+" CASCADE") })
		s := newStore(t, pool, postgres.Options{Table: schema + ".sessions"})
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := rawCount(t, pool, schema+".sessions"); n != 1 {
			t.Errorf("%s.sessions holds %d rows, want 1", schema, n)
		}
		if n := countIndexes(t, pool, schema, "sessions"); n != 1 {
			t.Errorf("%d expiry indexes in schema %s, want 1", n, schema)
		}
	})

	t.Run("HostileNames", func(t *testing.T) {
		canary := newTableName("canary")
		if _, err := pool.Exec(ctx, "CREATE TABLE "+quote(canary)+" (x int)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropTable(t, pool, canary) })
		for _, name := range []string{
			`x"; DROP TABLE ` + canary + `; --`,
			`Robert'); DROP TABLE ` + canary + `;--`,
			`Mixed Case $1 \`,
			`sessions ünïcödé セッション`,
		} {
			table := name + newTableName("")
			s := newStore(t, pool, postgres.Options{Table: table})
			if err := s.Save(ctx, "id", []byte(name), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("table %q: Save: %v", table, err)
			}
			rec, found, err := s.Load(ctx, "id")
			if err != nil || !found || string(rec.Data) != name {
				t.Fatalf("table %q: Load = %q, %v, %v", table, rec.Data, found, err)
			}
			if n := rawCount(t, pool, table); n != 1 {
				t.Errorf("table %q holds %d rows, want 1", table, n)
			}
		}
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(canary)).Scan(&exists); err != nil || !exists {
			t.Errorf("canary table gone (err %v): a table name was injected", err)
		}
	})

	// Two names longer than the server's index names can be and equal in
	// their first 60 bytes still get an expiry index each.
	t.Run("LongNames", func(t *testing.T) {
		base := strings.Repeat("l", 50) + newTableName("")
		base = base[len(base)-60:]
		for _, suffix := range []string{"aaa", "bbb"} {
			newStore(t, pool, postgres.Options{Table: base + suffix})
			if n := countIndexes(t, pool, "public", base+suffix); n != 1 {
				t.Errorf("table %s: %d expiry indexes, want 1", base+suffix, n)
			}
		}
	})

	t.Run("SchemaForMigrations", func(t *testing.T) {
		table := newTableName("migrated")
		s, err := postgres.New(pool, postgres.Options{Table: table, CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		// What a migration tool would do with the printed schema: run it as
		// one script.
		if _, err := pool.Exec(ctx, s.Schema()); err != nil {
			t.Fatalf("running Schema(): %v", err)
		}
		t.Cleanup(func() { dropTable(t, pool, table) })
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := countIndexes(t, pool, "public", table); n != 1 {
			t.Errorf("%d expiry indexes, want 1", n)
		}
	})
}

// lazyPool returns a pool that is never dialled, for tests of what New
// does without I/O.
func lazyPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// countIndexes counts the indexes on the expiry column of schema.table.
func countIndexes(t testing.TB, pool *pgxpool.Pool, schema, table string) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexdef LIKE '%(expiry)'`,
		schema, table).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Ids are stored as bytea: NUL bytes and invalid UTF-8, which a text column
// rejects, are ids like any other, and ids differing only there stay apart.
func TestIDsAreBytes(t *testing.T) {
	s := newStore(t, newPool(t), postgres.Options{})
	ctx := context.Background()
	ids := []string{"a", "a\x00", "a\x00b", "\xff\xfe", "A", strings.Repeat("\x00", sessionstore.MaxIDLength)}
	for i, id := range ids {
		if err := s.Save(ctx, id, []byte{byte(i)}, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Save(%q): %v", id, err)
		}
	}
	for i, id := range ids {
		rec, found, err := s.Load(ctx, id)
		if err != nil || !found || !bytes.Equal(rec.Data, []byte{byte(i)}) {
			t.Errorf("Load(%q) = %v, %v, %v; want data %d", id, rec.Data, found, err, i)
		}
	}
	seen := map[string]bool{}
	if err := s.Iterate(ctx, func(id string, _ sessionstore.Record) bool { seen[id] = true; return true }); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("Iterate missed %q", id)
		}
	}
}

// An expired row the cleanup has not deleted yet is absent for every call,
// whatever the database's own clock says.
func TestExpiredRowLeftBehind(t *testing.T) {
	pool := newPool(t)
	table := newTableName("leftover")
	s := newStore(t, pool, postgres.Options{Table: table})
	ctx := context.Background()
	insertRaw(t, pool, table, "old", time.Now().Add(-time.Millisecond))

	if _, found, err := s.Load(ctx, "old"); found || err != nil {
		t.Errorf("Load = found %v, err %v; want not found", found, err)
	}
	if found, err := s.Touch(ctx, "old", time.Now().Add(time.Hour)); found || err != nil {
		t.Errorf("Touch = %v, %v; want false", found, err)
	}
	if _, found, _ := s.Load(ctx, "old"); found {
		t.Error("Touch brought an expired row back")
	}
	if n, err := s.Count(ctx); n != 0 || err != nil {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
	if err := s.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
		t.Errorf("Iterate visited expired %q", id)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 42, []byte("new"), time.Now().Add(time.Hour)); ok || err != nil {
		t.Errorf("CompareAndSwap with the expired row's version = %v, %v; want false", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, []byte("new"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Errorf("CompareAndSwap(version 0) over an expired row = %v, %v; want true", ok, err)
	}
	if rec, found, err := s.Load(ctx, "old"); !found || err != nil || string(rec.Data) != "new" {
		t.Errorf("Load after CompareAndSwap = %q, %v, %v; want new", rec.Data, found, err)
	}
}

// Load, Save, Delete, Touch and CompareAndSwap each run one statement: one
// round trip once pgx has cached the prepared statement.
func TestOneStatementPerCall(t *testing.T) {
	tr := &tracer{}
	s := newStore(t, tracedPool(t, newPool(t), tr, 0), postgres.Options{})
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	calls := []struct {
		name string
		call func() error
	}{
		{"Save", func() error { return s.Save(ctx, "id", []byte("v"), later) }},
		{"Save expired", func() error { return s.Save(ctx, "gone", []byte("v"), time.Now()) }},
		{"Load", func() error { _, _, err := s.Load(ctx, "id"); return err }},
		{"Touch", func() error { _, err := s.Touch(ctx, "id", later); return err }},
		{"CompareAndSwap", func() error { _, err := s.CompareAndSwap(ctx, "id", 1, []byte("w"), later); return err }},
		{"CompareAndSwap new", func() error { _, err := s.CompareAndSwap(ctx, "new", 0, []byte("w"), later); return err }},
		{"Delete", func() error { return s.Delete(ctx, "id") }},
		{"Count", func() error { _, err := s.Count(ctx); return err }},
	}
	for _, c := range calls {
		tr.reset()
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if sqls := tr.statements(); len(sqls) != 1 {
			t.Errorf("%s ran %d statements, want 1: %q", c.name, len(sqls), sqls)
		}
	}
}

// Iterate reads in pages and holds no connection while its function runs:
// on a pool of one connection, deleting each visited record does not
// deadlock.
func TestIterateHoldsNoConnection(t *testing.T) {
	s := newStore(t, tracedPool(t, newPool(t), &tracer{}, 1), postgres.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 250 // more than two pages
	for i := range n {
		if err := s.Save(ctx, fmt.Sprint("id", i), []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	err := s.Iterate(ctx, func(id string, _ sessionstore.Record) bool {
		if seen[id] {
			t.Errorf("Iterate visited %q twice", id)
		}
		seen[id] = true
		if err := s.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q) inside Iterate: %v", id, err)
		}
		return true
	})
	if err != nil || len(seen) != n {
		t.Fatalf("Iterate = %v after %d records, want nil after %d", err, len(seen), n)
	}
	if left, err := s.Count(ctx); left != 0 || err != nil {
		t.Errorf("Count after deleting all = %d, %v", left, err)
	}
}

func TestContextErrors(t *testing.T) {
	pool := newPool(t)
	table := newTableName("ctx")
	s := newStore(t, pool, postgres.Options{Table: table})

	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		later := time.Now().Add(time.Hour)
		for name, call := range map[string]func() error{
			"load":             func() error { _, _, err := s.Load(ctx, "id"); return err },
			"save":             func() error { return s.Save(ctx, "id", nil, later) },
			"delete":           func() error { return s.Delete(ctx, "id") },
			"touch":            func() error { _, err := s.Touch(ctx, "id", later); return err },
			"compare and swap": func() error { _, err := s.CompareAndSwap(ctx, "id", 0, nil, later); return err },
			"iterate":          func() error { return s.Iterate(ctx, func(string, sessionstore.Record) bool { return true }) },
			"count":            func() error { _, err := s.Count(ctx); return err },
			"create table":     func() error { return s.CreateTable(ctx) },
			"delete expired":   func() error { _, err := s.DeleteExpired(ctx); return err },
		} {
			err := call()
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "postgres: "+name+": ") {
				t.Errorf("%s: err = %v; want postgres: %s: ... wrapping context.Canceled", name, err, name)
			}
		}
	})

	// A Save waiting on a row lock another transaction holds ends at its
	// deadline, with the deadline in its error. With pgx's default context
	// handling the server is not told and may still complete the statement
	// later; a pool that sends cancel requests has the server abort it.
	t.Run("DeadlineWhileWaiting", func(t *testing.T) {
		saveBlocked(t, pool, s, table, false)
	})
	t.Run("DeadlineWhileWaitingCancelRequest", func(t *testing.T) {
		cfg := pool.Config()
		cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
		}
		cancelling, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer cancelling.Close()
		s, err := postgres.New(cancelling, postgres.Options{Table: table, CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		saveBlocked(t, pool, s, table, true)
	})
}

// saveBlocked saves "blocked" over the record "id" of s while another
// transaction holds its row lock, with a short deadline, and checks the call
// ends at its deadline with a wrapped error. When cancelled is true, the
// server must have aborted the write.
func saveBlocked(t *testing.T, pool *pgxpool.Pool, s *postgres.Store, table string, cancelled bool) {
	ctx := context.Background()
	if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+quote(table)+" WHERE id = 'id' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	const deadline = 200 * time.Millisecond
	dctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	err = s.Save(dctx, "id", []byte("blocked"), time.Now().Add(time.Hour))
	if took := time.Since(start); took > deadline+2*time.Second {
		t.Errorf("Save returned %v after its deadline", took-deadline)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "postgres: save: ") {
		t.Errorf("err = %v; want postgres: save: ... wrapping context.DeadlineExceeded", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// A later call on the same store works; its connection was replaced.
	rec, found, err := s.Load(ctx, "id")
	if err != nil || !found {
		t.Fatalf("Load after the timed-out Save: found %v, err %v", found, err)
	}
	if cancelled && string(rec.Data) != "v" {
		t.Errorf("Load = %q; the server should have cancelled the Save", rec.Data)
	}
}

func TestCleanup(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()

	// insertExpired leaves n expired and live rows in table in one statement.
	insertRows := func(t *testing.T, table string, n int, expiry time.Time, prefix string) {
		t.Helper()
		_, err := pool.Exec(ctx, "INSERT INTO "+quote(table)+
			" SELECT convert_to($3::text || g, 'UTF8'), '', $2::timestamptz, 1 FROM generate_series(1, $1::int) g", n, expiry, prefix)
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Batches", func(t *testing.T) {
		tr := &tracer{}
		table := newTableName("cleanup")
		s := newStore(t, tracedPool(t, pool, tr, 0), postgres.Options{Table: table, CleanupBatchSize: 100})
		insertRows(t, table, 250, time.Now().Add(-time.Second), "old")
		insertRows(t, table, 5, time.Now().Add(time.Hour), "live")
		tr.reset()
		n, err := s.DeleteExpired(ctx)
		if n != 250 || err != nil {
			t.Fatalf("DeleteExpired = %d, %v; want 250", n, err)
		}
		if sqls := tr.statements(); len(sqls) != 3 {
			t.Errorf("DeleteExpired ran %d statements, want 3 batches (100, 100, 50)", len(sqls))
		}
		if left := rawCount(t, pool, table); left != 5 {
			t.Errorf("%d rows left, want the 5 live ones", left)
		}
	})

	// A request refreshing an expired-looking session holds its row lock; the
	// cleanup passes over that row instead of waiting for it, and the
	// refreshed session survives.
	t.Run("SkipsRowsBeingWritten", func(t *testing.T) {
		table := newTableName("skiplocked")
		s := newStore(t, pool, postgres.Options{Table: table})
		insertRows(t, table, 10, time.Now().Add(-time.Second), "old")
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, "UPDATE "+quote(table)+" SET expiry = $1 WHERE id = 'old1'", time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := s.DeleteExpired(dctx)
		if n != 9 || err != nil {
			t.Fatalf("DeleteExpired beside a writer = %d, %v; want the 9 unlocked rows, at once", n, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if _, found, err := s.Load(ctx, "old1"); !found || err != nil {
			t.Errorf("refreshed session: found %v, err %v; want it kept", found, err)
		}
	})

	t.Run("Background", func(t *testing.T) {
		table := newTableName("background")
		newStore(t, pool, postgres.Options{Table: table}) // creates the table
		insertRows(t, table, 50, time.Now().Add(-time.Second), "old")
		insertRows(t, table, 5, time.Now().Add(time.Hour), "live")

		tr := &tracer{ended: make(chan string, 1)}
		s, err := postgres.New(tracedPool(t, pool, tr, 0), postgres.Options{Table: table, CleanupInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		select {
		case <-tr.ended: // the only statement this pool runs is the cleanup
		case <-time.After(10 * time.Second):
			t.Fatal("no cleanup within 10s")
		}
		if left := rawCount(t, pool, table); left != 5 {
			t.Errorf("%d rows left after a cleanup, want the 5 live ones", left)
		}
		s.Close()
		select {
		case <-postgres.CleanupDone(s):
		default:
			t.Fatal("cleanup goroutine still running after Close returned")
		}
		s.Close() // twice is fine
		if err := s.Save(ctx, "after-close", nil, time.Now().Add(time.Hour)); err != nil {
			t.Errorf("Save after Close: %v; Close stops only the cleanup", err)
		}
	})

	t.Run("ErrorsLogged", func(t *testing.T) {
		logs := make(chan slog.Record, 1)
		s, err := postgres.New(pool, postgres.Options{
			Table:           newTableName("missing"), // never created
			CleanupInterval: 10 * time.Millisecond,
			Logger:          slog.New(chanHandler(logs)),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		select {
		case r := <-logs:
			var logged string
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" {
					logged = a.Value.String()
				}
				return true
			})
			if r.Level != slog.LevelError || !strings.Contains(logged, "postgres: delete expired: ") {
				t.Errorf("logged %v %q err=%q; want an error record with the cleanup's error", r.Level, r.Message, logged)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no cleanup error logged within 10s")
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		s, err := postgres.New(pool, postgres.Options{CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if postgres.CleanupDone(s) != nil {
			t.Error("a cleanup goroutine runs although CleanupInterval < 0")
		}
		s.Close()
	})
}

// chanHandler is a slog.Handler sending every record to a channel, dropping
// those nobody waits for.
type chanHandler chan slog.Record

func (h chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h chanHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r:
	default:
	}
	return nil
}
func (h chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h chanHandler) WithGroup(string) slog.Handler      { return h }
