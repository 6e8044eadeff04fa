package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/sqlite"
)

func TestNewRejects(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	if _, err := sqlite.New(nil, sqlite.Options{}); err == nil {
		t.Error("New(nil db) succeeded")
	}
	for _, opts := range []sqlite.Options{
		{Table: "Sessions"},
		{Table: "nul\x00byte"},
		{Table: "sqlite_sessions"},
		{MaxDataSize: -1},
		{MaxDataSize: sqlite.MaxMaxDataSize + 1},
		{CleanupBatchSize: -1},
	} {
		if s, err := sqlite.New(db, opts); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", opts)
		} else if !strings.HasPrefix(err.Error(), "sqlite: new: ") {
			t.Errorf("New(%+v): error %q lacks the package and operation", opts, err)
		}
	}
	for _, path := range []string{"", ":memory:", "file:x.db"} {
		if s, err := sqlite.Open(context.Background(), path, sqlite.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	if s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "OFF"}); err == nil {
		s.Close()
		t.Error("Open with Synchronous OFF succeeded")
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
	s, err := sqlite.New(openDB(t, filepath.Join(t.TempDir(), "x.db")), sqlite.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(s.Schema()) {
		if !strings.Contains(doc, "\t"+line) {
			t.Errorf("package doc lacks schema line %q", line)
		}
	}
}

// Open creates the file in WAL mode with the table, and a path holding the
// characters a URI gives a meaning to names a file, not a query.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a ?b#c%d")
	path := filepath.Join(dir, "s?x=1.db")
	if _, err := sqlite.Open(ctx, path, sqlite.Options{}); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	s := openPath(t, path, sqlite.Options{})
	if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path) // the name as given, no URI
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in %s = %d, %v; want 1", path, n, err)
	}
}

// Ids are bound as BLOBs: any bytes round-trip, and ids that text
// comparison, NUL truncation or UTF-8 repair would mix up stay apart.
func TestIDsAreBytes(t *testing.T) {
	s, _ := openStore(t, sqlite.Options{})
	ctx := context.Background()
	ids := []string{"a", "a\x00", "a\x00b", "\xff", "\xef\xbf\xbd", "A", "a ", "'; DROP TABLE sessions; --"}
	for i, id := range ids {
		if err := s.Save(ctx, id, []byte{byte(i)}, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Save(%q): %v", id, err)
		}
	}
	for i, id := range ids {
		rec, found, err := s.Load(ctx, id)
		if !found || err != nil || len(rec.Data) != 1 || rec.Data[0] != byte(i) {
			t.Errorf("Load(%q) = %v, %v, %v; want [%d]", id, rec.Data, found, err, i)
		}
	}
	seen := map[string]bool{}
	if err := s.Iterate(ctx, func(id string, _ sessionstore.Record) bool { seen[id] = true; return true }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(ids) {
		t.Errorf("Iterate saw %d ids, want %d", len(seen), len(ids))
	}
}

// Rows the cleanup has not deleted yet are never returned, and version 0
// swaps over them; a version 0 swap with an expiry in the past where nothing
// is live reports true (nothing is live afterwards, as asked).
func TestExpiredRowLeftBehind(t *testing.T) {
	s, path := openStore(t, sqlite.Options{})
	ctx := context.Background()
	db := openDB(t, path)
	if _, err := db.Exec(`INSERT INTO sessions VALUES (?, X'00', ?, 42)`, []byte("old"), time.Now().Add(-time.Millisecond).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, "old"); found || err != nil {
		t.Errorf("Load = found %v, err %v; want not found", found, err)
	}
	if found, err := s.Touch(ctx, "old", time.Now().Add(time.Hour)); found || err != nil {
		t.Errorf("Touch = %v, %v; want false", found, err)
	}
	if n, err := s.Count(ctx); n != 0 || err != nil {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 42, []byte("new"), time.Now().Add(time.Hour)); ok || err != nil {
		t.Errorf("CompareAndSwap with the expired row's version = %v, %v; want false", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, nil, time.Now().Add(-time.Hour)); !ok || err != nil {
		t.Errorf("CompareAndSwap(version 0, past expiry) with nothing live = %v, %v; want true", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, []byte("new"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Errorf("CompareAndSwap(version 0) over an expired row = %v, %v; want true", ok, err)
	}
	if rec, found, err := s.Load(ctx, "old"); !found || err != nil || string(rec.Data) != "new" {
		t.Errorf("Load after CompareAndSwap = %q, %v, %v; want new", rec.Data, found, err)
	}
	if ok, err := s.CompareAndSwap(ctx, "old", 0, nil, time.Now().Add(-time.Hour)); ok || err != nil {
		t.Errorf("CompareAndSwap(version 0, past expiry) over a live record = %v, %v; want false", ok, err)
	}
}

// A version is never given to an id twice: not after delete and re-create,
// not by a second handle on the file, not after a restart.
func TestVersionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t, sqlite.Options{})
	later := time.Now().Add(time.Hour)
	seen := map[uint64]bool{}
	record := func(s *sqlite.Store, what string) {
		t.Helper()
		rec, found, err := s.Load(ctx, "id")
		if !found || err != nil {
			t.Fatalf("%s: Load = %v, %v", what, found, err)
		}
		if rec.Version == 0 || seen[rec.Version] {
			t.Fatalf("%s: version %d given before (or zero)", what, rec.Version)
		}
		seen[rec.Version] = true
	}
	for i := range 50 {
		if err := s.Save(ctx, "id", []byte("v"), later); err != nil {
			t.Fatal(err)
		}
		record(s, fmt.Sprint("save ", i))
		if err := s.Delete(ctx, "id"); err != nil {
			t.Fatal(err)
		}
	}
	other := openPath(t, path, sqlite.Options{})
	for i := range 50 {
		if ok, err := other.CompareAndSwap(ctx, "id", 0, []byte("v"), later); !ok || err != nil {
			t.Fatalf("CompareAndSwap(0) = %v, %v", ok, err)
		}
		record(s, fmt.Sprint("second handle ", i))
		if err := s.Delete(ctx, "id"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openPath(t, path, sqlite.Options{})
	for i := range 50 {
		if err := reopened.Save(ctx, "id", []byte("v"), later); err != nil {
			t.Fatal(err)
		}
		record(reopened, fmt.Sprint("after reopen ", i))
	}
}

// Close of a store from Open closes the database: later calls fail with
// ErrClosed and no goroutine is left. A store from New keeps serving.
func TestClose(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t, sqlite.Options{CleanupInterval: time.Hour})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sqlite.CleanupDone(s):
	default:
		t.Fatal("cleanup goroutine still running after Close returned")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	later := time.Now().Add(time.Hour)
	calls := map[string]error{
		"Save":   s.Save(ctx, "id", nil, later),
		"Delete": s.Delete(ctx, "id"),
	}
	_, _, calls["Load"] = s.Load(ctx, "id")
	_, calls["Touch"] = s.Touch(ctx, "id", later)
	_, calls["CompareAndSwap"] = s.CompareAndSwap(ctx, "id", 0, nil, later)
	_, calls["Count"] = s.Count(ctx)
	calls["Iterate"] = s.Iterate(ctx, func(string, sessionstore.Record) bool { return true })
	for name, err := range calls {
		if !errors.Is(err, sessionstore.ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", name, err)
		}
	}

	n, err := sqlite.New(openDB(t, path), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Save(ctx, "id", nil, later); err != nil {
		t.Errorf("Save after Close of a store from New: %v; its Close stops only the cleanup", err)
	}
}

// A context that ends makes a call return with its error, its cause
// included, also while the call waits for the write lock held by another
// connection.
func TestContextErrors(t *testing.T) {
	s, path := openStore(t, sqlite.Options{})
	cause := errors.New("the request went away")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if err := s.Save(ctx, "id", nil, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("Save with a cancelled context: %v; want context.Canceled and the cause", err)
	}

	// Another connection holds the write lock.
	db := openDB(t, path)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	ctx, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	err = s.Save(ctx, "id", nil, time.Now().Add(time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Save while another connection writes: %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Save returned %v after its 200 ms deadline; want promptly", d)
	}
	// Reads go on beside the writer (WAL).
	rctx, cancel3 := context.WithTimeout(context.Background(), time.Second)
	defer cancel3()
	if _, _, err := s.Load(rctx, "id"); err != nil {
		t.Errorf("Load while another connection writes: %v", err)
	}
}

// Many goroutines, and a second process's worth of connections, writing
// at once: no call ever fails, in particular never with "database is
// locked".
func TestManyWriters(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"Open", "NewWithoutBusyTimeout"} {
		t.Run(name, func(t *testing.T) {
			s, path := openStore(t, sqlite.Options{})
			other := s
			if name == "NewWithoutBusyTimeout" {
				// An application's own pool of 8 connections with no
				// busy_timeout: every clash with s is SQLITE_BUSY at once.
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				db.SetMaxOpenConns(8)
				if other, err = sqlite.New(db, sqlite.Options{CleanupInterval: -1}); err != nil {
					t.Fatal(err)
				}
			}
			second := openPath(t, path, sqlite.Options{}) // another handle on the path: it takes turns with s
			var (
				wg     sync.WaitGroup
				failed atomic.Int64
				errMu  sync.Mutex
				first  error
			)
			const writers, each = 48, 40
			later := time.Now().Add(time.Hour)
			for w := range writers {
				st := []*sqlite.Store{s, other, second}[w%3]
				wg.Go(func() {
					for i := range each {
						id := fmt.Sprintf("w%d-%d", w, i%5)
						var err error
						switch i % 4 {
						case 0, 1:
							err = st.Save(ctx, id, []byte("data"), later)
						case 2:
							var rec sessionstore.Record
							if rec, _, err = st.Load(ctx, id); err == nil {
								_, err = st.CompareAndSwap(ctx, id, rec.Version, []byte("swapped"), later)
							}
						case 3:
							_, err = st.Touch(ctx, id, later)
						}
						if err != nil {
							failed.Add(1)
							errMu.Lock()
							first = cmpErr(first, err)
							errMu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if n := failed.Load(); n > 0 {
				t.Fatalf("%d of %d calls failed, first: %v", n, writers*each, first)
			}
			if n, err := s.Count(ctx); n != writers*5 || err != nil {
				t.Errorf("Count = %d, %v; want %d", n, err, writers*5)
			}
		})
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	insertRows := func(t *testing.T, db *sql.DB, n int, expiry time.Time, prefix string) {
		t.Helper()
		_, err := db.Exec(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM g WHERE i < ?1)
INSERT INTO sessions SELECT CAST(?3 || i AS BLOB), X'', ?2, 1 FROM g`, n, expiry.UnixNano(), prefix)
		if err != nil {
			t.Fatal(err)
		}
	}
	rawCount := func(t *testing.T, db *sql.DB) int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("Batches", func(t *testing.T) {
		s, path := openStore(t, sqlite.Options{CleanupBatchSize: 100})
		db := openDB(t, path)
		insertRows(t, db, 250, time.Now().Add(-time.Second), "old")
		insertRows(t, db, 5, time.Now().Add(time.Hour), "live")
		n, err := s.DeleteExpired(ctx)
		if n != 250 || err != nil {
			t.Fatalf("DeleteExpired = %d, %v; want 250", n, err)
		}
		if left := rawCount(t, db); left != 5 {
			t.Errorf("%d rows left, want the 5 live ones", left)
		}
	})

	t.Run("Background", func(t *testing.T) {
		_, path := openStore(t, sqlite.Options{})
		db := openDB(t, path)
		insertRows(t, db, 50, time.Now().Add(-time.Second), "old")
		insertRows(t, db, 5, time.Now().Add(time.Hour), "live")
		s := openPath(t, path, sqlite.Options{CleanupInterval: 10 * time.Millisecond})
		deadline := time.Now().Add(10 * time.Second)
		for rawCount(t, db) != 5 {
			if time.Now().After(deadline) {
				t.Fatalf("%d rows left after 10 s of cleanup, want the 5 live ones", rawCount(t, db))
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.Close()
		select {
		case <-sqlite.CleanupDone(s):
		default:
			t.Fatal("cleanup goroutine still running after Close returned")
		}
	})

	t.Run("ErrorsLogged", func(t *testing.T) {
		logs := make(chan slog.Record, 1)
		s, err := sqlite.New(openDB(t, filepath.Join(t.TempDir(), "empty.db")), sqlite.Options{
			CleanupInterval: 10 * time.Millisecond, // table never created
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
			if r.Level != slog.LevelError || !strings.Contains(logged, "sqlite: delete expired: ") {
				t.Errorf("logged %v %q err=%q; want an error record with the cleanup's error", r.Level, r.Message, logged)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no cleanup error logged within 10s")
		}
	})
}

// The store's clock decides expiry: a record saved for an hour is gone when
// Options.Now says two hours passed.
func TestClock(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s, _ := openStore(t, sqlite.Options{Now: now})
	ctx := context.Background()
	if err := s.Save(ctx, "id", []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "id"); !found {
		t.Fatal("not found before the clock moved")
	}
	offset.Store(int64(2 * time.Hour))
	if _, found, _ := s.Load(ctx, "id"); found {
		t.Error("found after Options.Now passed its expiry")
	}
}

// Data larger than MaxDataSize fails with ErrTooLarge and leaves the stored
// record as it was.
func TestMaxDataSize(t *testing.T) {
	s, _ := openStore(t, sqlite.Options{MaxDataSize: 1 << 20})
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "id", make([]byte, 1<<20), later); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "id", make([]byte, 1<<20+1), later); !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("Save of 1 MiB + 1: %v; want ErrTooLarge", err)
	}
	if rec, _, _ := s.Load(ctx, "id"); len(rec.Data) != 1<<20 {
		t.Errorf("after the refused Save, %d bytes stored; want the 1 MiB before", len(rec.Data))
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
