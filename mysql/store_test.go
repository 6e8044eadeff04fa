package mysql_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/mysql"
)

func TestNewRejects(t *testing.T) {
	db := lazyDB(t)
	if _, err := mysql.New(nil, mysql.Options{}); err == nil {
		t.Error("New(nil db) succeeded")
	}
	for _, opts := range []mysql.Options{
		{Table: "a.b.c"},
		{Table: "."},
		{Table: "app."},
		{Table: ".sessions"},
		{Table: "nul\x00byte"},
		{Table: "trailing "},
		{Table: "emoji\U0001F600"},
		{Table: "bad\xffutf8"},
		{Table: strings.Repeat("x", 65)},
		{Table: strings.Repeat("é", 65)},
		{Table: "app." + strings.Repeat("x", 65)},
		{MaxDataSize: -1},
		{CleanupBatchSize: -1},
	} {
		if s, err := mysql.New(db, opts); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", opts)
		} else if !strings.HasPrefix(err.Error(), "mysql: new: ") {
			t.Errorf("New(%+v): error %q lacks the package and operation", opts, err)
		}
	}
	// 64 characters is the limit, not 64 bytes.
	if s, err := mysql.New(db, mysql.Options{Table: strings.Repeat("é", 64), CleanupInterval: -1}); err != nil {
		t.Errorf("New with a 64-character, 128-byte name: %v", err)
	} else {
		s.Close()
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
	s, err := mysql.New(lazyDB(t), mysql.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(s.Schema()) {
		if !strings.Contains(doc, "\t"+line) {
			t.Errorf("package doc lacks schema line %q", line)
		}
	}
}

// lazyDB returns a *sql.DB that is never dialled, for tests of what New
// does without I/O.
func lazyDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", "nobody@tcp(127.0.0.1:1)/none")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCreateTable(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()

	t.Run("Idempotent", func(t *testing.T) {
		s := newStore(t, db, mysql.Options{})
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

	t.Run("Concurrent", func(t *testing.T) {
		for round := range 3 {
			table := newTableName("concurrent")
			t.Cleanup(func() { dropTable(t, db, table) })
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() {
					s, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1})
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
		}
	})

	t.Run("DatabaseQualified", func(t *testing.T) {
		database := newTableName("app")
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+quote(database)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.ExecContext(ctx, "DROP DATABASE "+quote(database)) })
		s := newStore(t, db, mysql.Options{Table: database + ".sessions"})
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := rawCount(t, db, database+".sessions"); n != 1 {
			t.Errorf("%s.sessions holds %d rows, want 1", database, n)
		}
	})

	t.Run("HostileNames", func(t *testing.T) {
		canary := newTableName("canary")
		if _, err := db.ExecContext(ctx, "CREATE TABLE "+quote(canary)+" (x int)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropTable(t, db, canary) })
		for _, name := range []string{
			"x`; DROP TABLE " + canary + "; --",
			`Robert'); DROP TABLE ` + canary + `;--`,
			`Mixed Case ? \ "q"`,
			`sessions ünïcödé セッション`,
		} {
			table := name + newTableName("")
			s := newStore(t, db, mysql.Options{Table: table})
			if err := s.Save(ctx, "id", []byte(name), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("table %q: Save: %v", table, err)
			}
			rec, found, err := s.Load(ctx, "id")
			if err != nil || !found || string(rec.Data) != name {
				t.Fatalf("table %q: Load = %q, %v, %v", table, rec.Data, found, err)
			}
			if n := rawCount(t, db, table); n != 1 {
				t.Errorf("table %q holds %d rows, want 1", table, n)
			}
		}
		if n := rawCount(t, db, canary); n != 0 {
			t.Errorf("canary table holds %d rows", n)
		}
	})

	t.Run("SchemaForMigrations", func(t *testing.T) {
		table := newTableName("migrated")
		s, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		// What a migration tool would do with the printed schema: run it as
		// a script.
		if _, err := db.ExecContext(ctx, s.Schema()); err != nil {
			t.Fatalf("running Schema(): %v", err)
		}
		t.Cleanup(func() { dropTable(t, db, table) })
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	})
}

// Ids are stored as VARBINARY: NUL bytes, invalid UTF-8, case and trailing
// spaces, which a VARCHAR column with a collation would reject, fold or
// ignore, tell ids apart like any other byte.
func TestIDsAreBytes(t *testing.T) {
	s := newStore(t, newDB(t), mysql.Options{})
	ctx := context.Background()
	ids := []string{"a", "a\x00", "a\x00b", "a ", "a  ", "A", "á", "a\u0301", "\xff\xfe", "\x00",
		strings.Repeat("\x00", sessionstore.MaxIDLength), strings.Repeat("\xff", sessionstore.MaxIDLength)}
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
	if len(seen) != len(ids) {
		t.Errorf("Iterate saw %d ids, want %d", len(seen), len(ids))
	}
}

// An expired row the cleanup has not deleted yet is absent for every call.
func TestExpiredRowLeftBehind(t *testing.T) {
	db := newDB(t)
	table := newTableName("leftover")
	s := newStore(t, db, mysql.Options{Table: table})
	ctx := context.Background()
	insertRaw(t, db, table, "old", time.Now().Add(-time.Millisecond))

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
	if ok, err := s.CompareAndSwap(ctx, "old", 42, nil, time.Now().Add(-time.Hour)); ok || err != nil {
		t.Errorf("conditional delete with the expired row's version = %v, %v; want false", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, nil, time.Now().Add(-time.Hour)); !ok || err != nil {
		t.Errorf("CompareAndSwap(version 0, past expiry) over an expired row = %v, %v; want true", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, []byte("new"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Errorf("CompareAndSwap(version 0) over an expired row = %v, %v; want true", ok, err)
	}
	rec, found, err := s.Load(ctx, "old")
	if !found || err != nil || string(rec.Data) != "new" || rec.Version == 42 || rec.Version == 0 {
		t.Errorf("Load after CompareAndSwap = %q version %d, %v, %v; want new with a new version", rec.Data, rec.Version, found, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, []byte("again"), time.Now().Add(time.Hour)); ok || err != nil {
		t.Errorf("CompareAndSwap(version 0) over a live row = %v, %v; want false", ok, err)
	}
}

// Expiry is the application's: a store whose clock runs an hour ahead of
// the server's sees a session expiring in half an hour as gone, and one an
// hour behind sees a session expired half an hour ago as live. No statement
// reads the server's clock.
func TestApplicationClock(t *testing.T) {
	db := newDB(t)
	table := newTableName("clock")
	s := newStore(t, db, mysql.Options{Table: table})
	ctx := context.Background()
	ahead, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1,
		Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	behind, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1,
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "soon", []byte("v"), time.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	insertRaw(t, db, table, "past", time.Now().Add(-30*time.Minute))
	if _, found, err := ahead.Load(ctx, "soon"); found || err != nil {
		t.Errorf("a clock an hour ahead: Load(soon) = %v, %v; want gone", found, err)
	}
	if n, err := ahead.Count(ctx); n != 0 || err != nil {
		t.Errorf("a clock an hour ahead: Count = %d, %v; want 0", n, err)
	}
	if _, found, err := behind.Load(ctx, "past"); !found || err != nil {
		t.Errorf("a clock an hour behind: Load(past) = %v, %v; want found", found, err)
	}
	if n, err := behind.Count(ctx); n != 2 || err != nil {
		t.Errorf("a clock an hour behind: Count = %d, %v; want 2", n, err)
	}
	if n, err := ahead.DeleteExpired(ctx); n != 2 || err != nil {
		t.Errorf("a clock an hour ahead: DeleteExpired = %d, %v; want both rows", n, err)
	}
}

// roundTrips counts the client's round trips on the connections it made:
// each time the client reads after writing, it waited for an answer.
type roundTrips struct {
	n atomic.Int64
}

func (rt *roundTrips) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, rt: rt}, nil
}

type countingConn struct {
	net.Conn
	rt      *roundTrips
	written atomic.Bool // written since the last read
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.written.Store(true)
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.written.Swap(false) {
		c.rt.n.Add(1)
	}
	return c.Conn.Read(p)
}

// Load, Save, Delete, Touch and CompareAndSwap each take one round trip once
// the store has prepared its statements on the connection, whatever the
// DSN's interpolateParams and clientFoundRows say.
func TestOneRoundTripPerCall(t *testing.T) {
	for _, dsn := range []struct {
		name                         string
		interpolate, clientFoundRows bool
	}{{"defaults", false, false}, {"interpolateParams", true, false}, {"clientFoundRows", false, true}} {
		t.Run(dsn.name, func(t *testing.T) {
			rt := &roundTrips{}
			cfg, _ := mysqltest.Config(t)
			cfg.InterpolateParams, cfg.ClientFoundRows = dsn.interpolate, dsn.clientFoundRows
			cfg.DialFunc = rt.dial
			db := mysqltest.OpenDB(t, cfg)
			db.SetMaxOpenConns(1)
			s := newStore(t, db, mysql.Options{})
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
				{"Touch expired", func() error { _, err := s.Touch(ctx, "none", time.Now()); return err }},
				{"CompareAndSwap", func() error { _, err := s.CompareAndSwap(ctx, "id", 1, []byte("w"), later); return err }},
				{"CompareAndSwap delete", func() error { _, err := s.CompareAndSwap(ctx, "id", 1, nil, time.Now()); return err }},
				{"CompareAndSwap new", func() error {
					ok, err := s.CompareAndSwap(ctx, fmt.Sprint("new", time.Now().UnixNano()), 0, []byte("w"), later)
					if !ok && err == nil {
						err = errors.New("lost on a fresh id")
					}
					return err
				}},
				{"Delete", func() error { return s.Delete(ctx, "id") }},
				{"Count", func() error { _, err := s.Count(ctx); return err }},
			}
			for pass := range 2 {
				for _, c := range calls {
					before := rt.n.Load()
					if err := c.call(); err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					// The first pass prepares each statement on the connection.
					if n := rt.n.Load() - before; pass == 1 && n != 1 {
						t.Errorf("%s took %d round trips, want 1", c.name, n)
					}
				}
			}
		})
	}
}

// No outcome depends on the DSN: with clientFoundRows, an UPDATE that
// changes nothing counts the row it matched, which must not turn a lost
// CompareAndSwap into a win nor a Touch of the same expiry into "missing"
// without it.
func TestDSNSettingsKeepOutcomes(t *testing.T) {
	for _, dsn := range []struct {
		name                         string
		interpolate, clientFoundRows bool
	}{{"defaults", false, false}, {"interpolateParams", true, false}, {"clientFoundRows", false, true},
		{"both", true, true}} {
		t.Run(dsn.name, func(t *testing.T) {
			cfg, _ := mysqltest.Config(t)
			cfg.InterpolateParams, cfg.ClientFoundRows = dsn.interpolate, dsn.clientFoundRows
			cfg.ParseTime, cfg.Loc = true, time.FixedZone("far", 11*3600)
			db := mysqltest.OpenDB(t, cfg)
			table := newTableName("dsn")
			s := newStore(t, db, mysql.Options{Table: table})
			ctx := context.Background()
			exp := time.Now().Add(time.Hour).Truncate(time.Microsecond).Add(123) // nanoseconds survive
			if ok, err := s.CompareAndSwap(ctx, "id", 0, []byte("\x00\xff'\\\""), exp); !ok || err != nil {
				t.Fatalf("CompareAndSwap(0) on a free id = %v, %v", ok, err)
			}
			rec, found, err := s.Load(ctx, "id")
			if !found || err != nil || string(rec.Data) != "\x00\xff'\\\"" || !rec.Expiry.Equal(exp) {
				t.Fatalf("Load = %q %v, %v, %v; want the data and the exact expiry %v", rec.Data, rec.Expiry, found, err, exp)
			}
			if ok, err := s.CompareAndSwap(ctx, "id", 0, []byte("x"), exp); ok || err != nil {
				t.Errorf("CompareAndSwap(0) over a live row = %v, %v; want false", ok, err)
			}
			if found, err := s.Touch(ctx, "id", exp); !found || err != nil {
				t.Errorf("Touch to the same expiry = %v, %v; want true", found, err)
			}
			if found, err := s.Touch(ctx, "none", exp); found || err != nil {
				t.Errorf("Touch of a missing id = %v, %v; want false", found, err)
			}
			rec, _, _ = s.Load(ctx, "id")
			if ok, err := s.CompareAndSwap(ctx, "id", rec.Version+1, []byte("x"), exp); ok || err != nil {
				t.Errorf("CompareAndSwap with another version = %v, %v; want false", ok, err)
			}
			if ok, err := s.CompareAndSwap(ctx, "id", rec.Version, rec.Data, rec.Expiry); !ok || err != nil {
				t.Errorf("CompareAndSwap writing the same data and expiry = %v, %v; want true", ok, err)
			}
			insertRaw(t, db, table, "expired", time.Now().Add(-time.Second))
			if ok, err := s.CompareAndSwap(ctx, "expired", 0, []byte("x"), exp); !ok || err != nil {
				t.Errorf("CompareAndSwap(0) over an expired row = %v, %v; want true", ok, err)
			}
		})
	}
}

// Many callers racing to create one session with version 0, over a row that
// expired, a row that is live or no row: exactly one wins, or none when a
// live row was there.
func TestCreateRace(t *testing.T) {
	db := newDB(t)
	table := newTableName("race")
	s := newStore(t, db, mysql.Options{Table: table})
	ctx := context.Background()
	for round := range 10 {
		id := fmt.Sprint("race", round)
		wantWins := 1
		switch round % 3 {
		case 1:
			insertRaw(t, db, table, id, time.Now().Add(-time.Second))
		case 2:
			if err := s.Save(ctx, id, []byte("live"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantWins = 0
		}
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				ok, err := s.CompareAndSwap(ctx, id, 0, []byte("mine"), time.Now().Add(time.Hour))
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != int64(wantWins) {
			t.Errorf("round %d: %d winners, want %d", round, n, wantWins)
		}
	}
}

// Iterate reads in pages and holds no connection while its function runs:
// on a *sql.DB of one connection, deleting each visited record does not
// deadlock.
func TestIterateHoldsNoConnection(t *testing.T) {
	cfg, _ := mysqltest.Config(t)
	db := mysqltest.OpenDB(t, cfg)
	db.SetMaxOpenConns(1)
	s := newStore(t, db, mysql.Options{})
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
	db := newDB(t)
	table := newTableName("ctx")
	s := newStore(t, db, mysql.Options{Table: table})

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
			"max data size":    func() error { _, err := s.MaxDataSize(ctx); return err },
		} {
			err := call()
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "mysql: "+name+": ") {
				t.Errorf("%s: err = %v; want mysql: %s: ... wrapping context.Canceled", name, err, name)
			}
		}
	})

	// A Save waiting on a row lock another transaction holds ends at its
	// deadline, with the deadline in its error; the store then serves again.
	t.Run("DeadlineWhileWaiting", func(t *testing.T) {
		ctx := context.Background()
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SELECT 1 FROM "+quote(table)+" WHERE id = 'id' FOR UPDATE"); err != nil {
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
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "mysql: save: ") {
			t.Errorf("err = %v; want mysql: save: ... wrapping context.DeadlineExceeded", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if _, found, err := s.Load(ctx, "id"); err != nil || !found {
			t.Fatalf("Load after the timed-out Save: found %v, err %v", found, err)
		}
	})
}

func TestCleanup(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()

	// insertRows leaves n rows expiring at expiry in table, in one statement.
	insertRows := func(t *testing.T, table string, n int, expiry time.Time, prefix string) {
		t.Helper()
		var q strings.Builder
		args := make([]any, 0, 2*n)
		q.WriteString("INSERT INTO " + quote(table) + " (id, data, expiry, version) VALUES ")
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, '', ?, 1)")
			args = append(args, fmt.Sprint(prefix, i+1), expiry.UnixNano())
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Batches", func(t *testing.T) {
		table := newTableName("cleanup")
		s := newStore(t, db, mysql.Options{Table: table, CleanupBatchSize: 100})
		insertRows(t, table, 250, time.Now().Add(-time.Second), "old")
		insertRows(t, table, 5, time.Now().Add(time.Hour), "live")
		tx, n, err := mysql.BeginCleanupBatch(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n != 100 {
			t.Errorf("one batch deleted %d rows, want CleanupBatchSize (100)", n)
		}
		n, err = s.DeleteExpired(ctx)
		if n != 150 || err != nil {
			t.Fatalf("DeleteExpired = %d, %v; want the other 150", n, err)
		}
		if left := rawCount(t, db, table); left != 5 {
			t.Errorf("%d rows left, want the 5 live ones", left)
		}
	})

	// While a cleanup batch holds its locks (here until its transaction
	// ends; in the store for one statement), requests refreshing the live
	// session expiring first, creating a session that expires before every
	// live one, or rewriting a live one go through. The control is the plain
	// range DELETE ... WHERE expiry <= ? LIMIT n, which under the server's
	// default REPEATABLE READ locks the expiry index up to the first live
	// entry and blocks the first two: it shows the test can see a block.
	t.Run("NeverBlocksWriters", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			begin func(s *mysql.Store, table string) (*sql.Tx, int64, error)
			block bool
		}{
			{"Batch", func(s *mysql.Store, _ string) (*sql.Tx, int64, error) {
				return mysql.BeginCleanupBatch(ctx, s)
			}, false},
			{"RangeDeleteControl", func(_ *mysql.Store, table string) (*sql.Tx, int64, error) {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return nil, 0, err
				}
				res, err := tx.ExecContext(ctx, "DELETE FROM "+quote(table)+" WHERE expiry <= ? ORDER BY expiry, id LIMIT 1000",
					time.Now().UnixNano())
				if err != nil {
					return nil, 0, err
				}
				n, err := res.RowsAffected()
				return tx, n, err
			}, true},
		} {
			t.Run(c.name, func(t *testing.T) {
				table := newTableName("noblock")
				s := newStore(t, db, mysql.Options{Table: table})
				insertRows(t, table, 10, time.Now().Add(-time.Second), "old")
				first := time.Now().Add(time.Hour)
				insertRows(t, table, 1, first, "first")
				insertRows(t, table, 5, first.Add(time.Hour), "later")
				tx, n, err := c.begin(s, table)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if n != 10 {
					t.Fatalf("the batch deleted %d rows, want 10", n)
				}
				for _, w := range []struct {
					name    string
					blocked bool // must be, by the control
					call    func(context.Context) error
				}{
					{"Touch of the first live session", true, func(ctx context.Context) error {
						_, err := s.Touch(ctx, "first1", first.Add(time.Minute))
						return err
					}},
					{"Save of a session expiring before every live one", true, func(ctx context.Context) error {
						return s.Save(ctx, "new", []byte("v"), time.Now().Add(30*time.Minute))
					}},
					{"Save over a later live session", false, func(ctx context.Context) error {
						return s.Save(ctx, "later3", []byte("v"), first.Add(2*time.Hour))
					}},
				} {
					dctx, cancel := context.WithTimeout(ctx, time.Second)
					err := w.call(dctx)
					cancel()
					switch {
					case !c.block && err != nil:
						t.Errorf("%s beside the cleanup: %v; want it through at once", w.name, err)
					case c.block && w.blocked && !errors.Is(err, context.DeadlineExceeded):
						t.Errorf("%s beside a range DELETE: err %v; want it blocked until its deadline", w.name, err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("Background", func(t *testing.T) {
		table := newTableName("background")
		plain := newStore(t, db, mysql.Options{Table: table}) // creates the table
		insertRows(t, table, 50, time.Now().Add(-time.Second), "old")
		insertRows(t, table, 5, time.Now().Add(time.Hour), "live")

		s, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		deadline := time.Now().Add(10 * time.Second)
		for rawCount(t, db, table) != 5 {
			if time.Now().After(deadline) {
				t.Fatalf("%d rows left after 10 s, want the 5 live ones", rawCount(t, db, table))
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.Close()
		select {
		case <-mysql.CleanupDone(s):
		default:
			t.Fatal("cleanup goroutine still running after Close returned")
		}
		s.Close() // twice is fine
		if err := s.Save(ctx, "after-close", nil, time.Now().Add(time.Hour)); err != nil {
			t.Errorf("Save after Close: %v; Close stops only the cleanup", err)
		}
		if _, found, err := plain.Load(ctx, "after-close"); !found || err != nil {
			t.Errorf("Load of the session saved after Close: %v, %v", found, err)
		}
	})

	t.Run("ErrorsLogged", func(t *testing.T) {
		logs := make(chan slog.Record, 1)
		s, err := mysql.New(db, mysql.Options{
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
			if r.Level != slog.LevelError || !strings.Contains(logged, "mysql: delete expired: ") {
				t.Errorf("logged %v %q err=%q; want an error record with the cleanup's error", r.Level, r.Message, logged)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no cleanup error logged within 10s")
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		s, err := mysql.New(db, mysql.Options{CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if mysql.CleanupDone(s) != nil {
			t.Error("a cleanup goroutine runs although CleanupInterval < 0")
		}
		s.Close()
	})
}

// Close releases the prepared statements: a store keeps serving after it,
// and a store per table, opened and closed many times over one *sql.DB,
// leaves no prepared statement behind on the server.
func TestCloseReleasesStatements(t *testing.T) {
	cfg, _ := mysqltest.Config(t)
	db := mysqltest.OpenDB(t, cfg)
	db.SetMaxOpenConns(1) // one connection: its session status counts every statement
	ctx := context.Background()
	table := newTableName("close")
	newStore(t, db, mysql.Options{Table: table})
	open := func() int {
		var name string
		var n int
		if err := db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		var closed int
		if err := db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_close'").Scan(&name, &closed); err != nil {
			t.Fatal(err)
		}
		return n - closed
	}
	before := open()
	for range 20 {
		s, err := mysql.New(db, mysql.Options{Table: table, CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Load(ctx, "id"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, found, err := s.Load(ctx, "id"); !found || err != nil {
			t.Fatalf("Load after Close = %v, %v; want the store serving", found, err)
		}
	}
	if after := open(); after != before {
		t.Errorf("%d statements left prepared after 20 stores were closed", after-before)
	}
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

// Writers racing on a few ids deadlock now and then in InnoDB's
// duplicate-key checks; the victim's statement runs again, so no call
// fails. The server's deadlock counter shows the retries were needed.
func TestDeadlockVictimsRunAgain(t *testing.T) {
	db := newDB(t)
	s := newStore(t, db, mysql.Options{})
	ctx := context.Background()
	deadlocks := func() int64 {
		var name string
		var n int64
		err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").Scan(&name, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return -1 // MySQL counts them elsewhere
		}
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprint("contended", (w+i)%2)
				var err error
				switch i % 4 {
				case 0:
					_, err = s.CompareAndSwap(ctx, id, 0, []byte("new"), time.Now().Add(time.Hour))
				case 1:
					err = s.Save(ctx, id, []byte("saved"), time.Now().Add(time.Hour))
				case 2:
					var rec sessionstore.Record
					if rec, _, err = s.Load(ctx, id); err == nil {
						_, err = s.CompareAndSwap(ctx, id, rec.Version, []byte("swapped"), time.Now().Add(time.Hour))
					}
				case 3:
					err = s.Delete(ctx, id)
				}
				if err != nil {
					t.Errorf("writer %d, call %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if before >= 0 {
		t.Logf("%d deadlocks, every victim run again", deadlocks()-before)
	}
}

// The first calls of a store wait for one of them to prepare each statement;
// a call whose context ends meanwhile returns then, not when the one
// preparing gives up. A server that accepts connections and never answers
// holds the first call until its long deadline.
func TestFirstCallsKeepTheirDeadlines(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []net.Conn // accepted, never answered, not even with the handshake
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	}()
	cfg := mysqltest.AddrConfig(l.Addr().String())
	db := mysqltest.OpenDB(t, cfg)
	s, err := mysql.New(db, mysql.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	long, cancelLong := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelLong()
	first := make(chan error, 1)
	go func() { _, _, err := s.Load(long, "id"); first <- err }()
	time.Sleep(100 * time.Millisecond) // the first call is preparing by now

	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, _, err = s.Load(short, "id")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a Load with a 200 ms deadline returned after %v, behind another call's preparation", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load = %v; want its own deadline", err)
	}
	cancelLong()
	<-first
}
