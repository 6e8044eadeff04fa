package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionstore/sessionstore"
)

// Defaults and limits of [Options].
const (
	DefaultTable            = "sessions"
	DefaultCleanupInterval  = 5 * time.Minute
	DefaultCleanupBatchSize = 1000
	DefaultMaxDataSize      = 4 << 20 // 4 MiB

	// MaxMaxDataSize is the largest MaxDataSize New accepts: SQLite's
	// default SQLITE_MAX_LENGTH (1,000,000,000 bytes) bounds a whole row,
	// which also holds the id (up to 256 bytes), two integers and a header.
	MaxMaxDataSize = 999_000_000

	// DefaultBusyTimeout is the busy_timeout Open sets on its connections:
	// how long SQLite itself waits for another process's write lock before
	// the store's own retries, bounded by the context, take over.
	DefaultBusyTimeout = 5 * time.Second
)

// SQL of the store. %[1]s is the quoted table name, %[2]s the quoted name of
// its expiry index. Expiries are INTEGER unix nanoseconds; every statement
// compares them with a time the application passes (?), never SQLite's own
// clock, so Options.Now decides what "expired" means.
const (
	createTableSQL = `CREATE TABLE IF NOT EXISTS %[1]s (
    id      BLOB    NOT NULL PRIMARY KEY,
    data    BLOB    NOT NULL,
    expiry  INTEGER NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID`
	createIndexSQL = `CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (expiry)`

	// walSQL makes the database file use write-ahead logging: readers never
	// wait for the writer, and a commit appends to the log instead of
	// rewriting pages. The mode is stored in the file, so every later
	// connection of every process gets it.
	walSQL = `PRAGMA journal_mode=WAL`

	loadSQL = `SELECT data, expiry, version FROM %[1]s WHERE id = ?1 AND expiry > ?2`

	upsertSQL = `INSERT INTO %[1]s (id, data, expiry, version) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry, version = excluded.version`

	// insertIfAbsentSQL writes only when no live row holds id: an expired row
	// left for the cleanup counts as absent and is overwritten. When the
	// WHERE is false SQLite changes nothing and reports no changed row.
	insertIfAbsentSQL = upsertSQL + `
WHERE %[1]s.expiry <= ?5`

	swapSQL = `UPDATE %[1]s SET data = ?3, expiry = ?4, version = ?5
WHERE id = ?1 AND version = ?2 AND expiry > ?6`
	swapDeleteSQL = `DELETE FROM %[1]s WHERE id = ?1 AND version = ?2 AND expiry > ?3`
	absentSQL     = `SELECT NOT EXISTS (SELECT 1 FROM %[1]s WHERE id = ?1 AND expiry > ?2)`

	deleteSQL     = `DELETE FROM %[1]s WHERE id = ?1`
	touchSQL      = `UPDATE %[1]s SET expiry = ?3 WHERE id = ?1 AND expiry > ?2`
	deleteLiveSQL = `DELETE FROM %[1]s WHERE id = ?1 AND expiry > ?2`

	// iterateSQL walks the primary key in pages, so a walk holds no
	// connection and no read snapshot while the caller's function runs.
	// BLOBs compare as bytes (memcmp), and every id is at least one byte, so
	// the empty BLOB the first page starts after precedes them all.
	iterateSQL = `SELECT id, data, expiry, version FROM %[1]s
WHERE id > ?1 AND expiry > ?2 ORDER BY id LIMIT ?3`
	countSQL = `SELECT count(*) FROM %[1]s WHERE expiry > ?1`

	// cleanupSQL deletes one batch of expired rows, found through the expiry
	// index. Each batch is its own short write transaction, so a request's
	// write waits for at most one batch.
	cleanupSQL = `DELETE FROM %[1]s WHERE id IN (
    SELECT id FROM %[1]s WHERE expiry <= ?1 LIMIT ?2
)`
)

// iteratePageSize is how many rows Iterate reads per query.
const iteratePageSize = 100

// Synchronous settings of [Options.Synchronous].
const (
	// SynchronousFull syncs the write-ahead log to disk at every commit: an
	// acknowledged save survives a crash of the process, of the operating
	// system and a power loss.
	SynchronousFull = "FULL"
	// SynchronousNormal syncs only at checkpoints: an acknowledged save
	// survives a crash of the process (the log is in the operating system's
	// cache), but the last commits before an operating system crash or a
	// power loss may be lost. The database is never corrupted either way.
	SynchronousNormal = "NORMAL"
)

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// Table is the table holding the sessions. The name is quoted, so it may
	// hold any character but NUL. SQLite compares table names without
	// regard to ASCII case, so names with upper-case ASCII letters are
	// refused: "Sessions" and "sessions" would silently be one table. Names
	// starting with "sqlite_" are SQLite's own and refused too.
	// Optional. Default is "sessions".
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// rows. A negative value disables it: expired rows are then never
	// returned but stay on disk until DeleteExpired is called.
	// Optional. Default is 5 minutes.
	CleanupInterval time.Duration

	// CleanupBatchSize is how many expired rows one cleanup statement
	// deletes; the cleanup repeats until a batch comes back short. Each
	// batch holds SQLite's single write lock, so small batches keep the
	// writes of requests waiting briefly.
	// Optional. Default is 1000.
	CleanupBatchSize int

	// MaxDataSize is the largest data, in bytes, that Save and
	// CompareAndSwap accept; larger data fails with an error wrapping
	// sessionstore.ErrTooLarge before anything is written. It may be at most
	// MaxMaxDataSize, what SQLite's default SQLITE_MAX_LENGTH leaves for the
	// data of a row. Every Load reads the whole value, so keep sessions small.
	// Optional. Default is 4 MiB.
	MaxDataSize int

	// Now is the clock that decides what has expired.
	// Optional. Default is time.Now.
	Now func() time.Time

	// Synchronous is the PRAGMA synchronous Open sets: SynchronousNormal or
	// SynchronousFull. Either way a save acknowledged before the process is
	// killed is never lost (the package's tests kill a process mid-save);
	// FULL also keeps it through an operating system crash or a power loss,
	// at the cost of one fsync per write (saves 7 to 17 times slower
	// measured here: BenchmarkSynchronous). New ignores it: the application
	// configured its own database.
	// Optional. Default is SynchronousNormal.
	Synchronous string

	// Logger receives the errors of the background cleanup.
	// Optional. Default is slog.Default().
	Logger *slog.Logger
}

// Store keeps sessions in one SQLite table. It implements
// sessionstore.Store, Toucher, Swapper, Iterator, Counter and io.Closer, and
// is safe for concurrent use.
type Store struct {
	db    *sql.DB
	ownDB bool // Open made db, so Close closes it
	table string
	sql   statements
	// prepared holds each statement prepared once (string → *sql.Stmt):
	// database/sql then keeps it prepared on every connection, and SQLite
	// does not parse and plan it again at every call (measured: parsing
	// was 43% of the CPU time of a Load + Save).
	prepared  sync.Map
	maxData   int
	batchSize int
	now       func() time.Time
	log       *slog.Logger

	// writer is a token held by the one write in progress among the
	// Stores of this process over one database (turnKey: the file's path
	// for Open, the *sql.DB for New). SQLite lets one connection write at a
	// time; taking turns here, in order and with the context bounding the
	// wait, keeps those writes from meeting each other's lock (SQLITE_BUSY)
	// and from polling for it with sleeps of up to 100 ms.
	writer  chan struct{}
	turnKey any

	// lockRetries counts the statements retry ran again because the
	// database was locked, for the benchmarks that compare ways of writing
	// from many goroutines.
	lockRetries atomic.Int64

	closed      atomic.Bool
	stopCleanup context.CancelFunc
	cleanupDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// The capabilities a Store offers, checked at compile time.
var _ interface {
	sessionstore.Store
	sessionstore.Toucher
	sessionstore.Swapper
	sessionstore.Iterator
	sessionstore.Counter
	io.Closer
} = (*Store)(nil)

// statements holds the SQL of one table, built once in New.
type statements struct {
	load, upsert, insertIfAbsent, swap, swapDelete, absent,
	delete, touch, deleteLive, iterate, count, cleanup string
}

// New returns a Store over db, a database the application opened with the
// modernc.org/sqlite driver ("sqlite"). db stays the caller's: Close leaves
// it open. New does no I/O; call [Store.CreateTable] (or run [Store.Schema]
// in a migration) before use. Unless disabled, a background cleanup runs
// until Close.
//
// The store sets no PRAGMA on db's connections (a pool gives no way to reach
// each one): open db with "_pragma=busy_timeout(5000)" in its name so that
// SQLite waits for the write lock of other processes itself. Without it the
// store still never returns SQLITE_BUSY: it retries, until the context ends.
func New(db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlite: new: nil db")
	}
	return newStore(db, false, db, opts)
}

// Open opens (creating it if missing) the SQLite database file at path and
// returns a Store over it, with the table created: the form for an
// application whose sessions are the database's only content. The file is
// put in WAL mode; every connection gets busy_timeout DefaultBusyTimeout and
// Options.Synchronous. Close stops the cleanup and closes the database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want the path of a file", path)
	}
	syncMode := cmp.Or(strings.ToUpper(opts.Synchronous), SynchronousNormal)
	if syncMode != SynchronousFull && syncMode != SynchronousNormal {
		return nil, fmt.Errorf("sqlite: open %q: Synchronous %q: want FULL or NORMAL", path, opts.Synchronous)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	dsn := fileDSN(abs, syncMode)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	// Readers run in parallel with the one writer; more connections than
	// CPUs only add page caches and file descriptors.
	conns := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	s, err := newStore(db, true, abs, opts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, errors.Unwrap(err))
	}
	if err := s.CreateTable(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	return s, nil
}

// fileDSN is the modernc.org/sqlite name of the file at path with the
// store's pragmas. The path goes in a file: URI, percent-encoded, so that a
// '?', '#' or '%' in it is part of the name rather than of the query.
func fileDSN(abs, syncMode string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	return "file://" + u.EscapedPath() + "?" + q.Encode()
}

func newStore(db *sql.DB, own bool, turnKey any, opts Options) (*Store, error) {
	if opts.MaxDataSize < 0 || opts.CleanupBatchSize < 0 {
		return nil, errors.New("sqlite: new: negative MaxDataSize or CleanupBatchSize")
	}
	if opts.MaxDataSize > MaxMaxDataSize {
		return nil, fmt.Errorf("sqlite: new: MaxDataSize %d is more than %d", opts.MaxDataSize, MaxMaxDataSize)
	}
	table := cmp.Or(opts.Table, DefaultTable)
	if err := checkTable(table); err != nil {
		return nil, fmt.Errorf("sqlite: new: %w", err)
	}
	s := &Store{
		db:        db,
		ownDB:     own,
		table:     table,
		maxData:   cmp.Or(opts.MaxDataSize, DefaultMaxDataSize),
		batchSize: cmp.Or(opts.CleanupBatchSize, DefaultCleanupBatchSize),
		now:       opts.Now,
		log:       opts.Logger,
		writer:    takeTurns(turnKey),
		turnKey:   turnKey,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.sql = statements{
		load:           s.format(loadSQL),
		upsert:         s.format(upsertSQL),
		insertIfAbsent: s.format(insertIfAbsentSQL),
		swap:           s.format(swapSQL),
		swapDelete:     s.format(swapDeleteSQL),
		absent:         s.format(absentSQL),
		delete:         s.format(deleteSQL),
		touch:          s.format(touchSQL),
		deleteLive:     s.format(deleteLiveSQL),
		iterate:        s.format(iterateSQL),
		count:          s.format(countSQL),
		cleanup:        s.format(cleanupSQL),
	}
	if every := cmp.Or(opts.CleanupInterval, DefaultCleanupInterval); every > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopCleanup, s.cleanupDone = cancel, make(chan struct{})
		go s.cleanupLoop(ctx, every)
	}
	return s, nil
}

// checkTable rejects names SQLite would not keep apart or not accept.
func checkTable(name string) error {
	switch {
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("table %q: NUL byte", name)
	case strings.IndexFunc(name, func(r rune) bool { return 'A' <= r && r <= 'Z' }) >= 0:
		return fmt.Errorf("table %q: upper-case letters (SQLite table names ignore ASCII case; use %q)", name, strings.ToLower(name))
	case strings.HasPrefix(name, "sqlite_"):
		return fmt.Errorf("table %q: names starting with sqlite_ are reserved by SQLite", name)
	}
	return nil
}

// quote quotes an SQLite identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func (s *Store) format(sql string) string {
	return fmt.Sprintf(sql, quote(s.table), quote(s.table+"_expiry_idx"))
}

// Schema returns the SQL that CreateTable runs, for people who run their
// migrations themselves.
func (s *Store) Schema() string {
	return walSQL + ";\n" + s.format(createTableSQL) + ";\n" + s.format(createIndexSQL) + ";\n"
}

// CreateTable puts the database in WAL mode and creates the table and its
// expiry index if they do not exist. It is idempotent and safe to call from
// several processes at once. The WAL mode is left as it is on an in-memory
// database, which has no log.
func (s *Store) CreateTable(ctx context.Context) error {
	for _, q := range []string{walSQL, s.format(createTableSQL), s.format(createIndexSQL)} {
		if _, err := s.write(ctx, q); err != nil {
			return s.wrap(ctx, "create table", err)
		}
	}
	return nil
}

// DropTable drops the table and its index, with every session in it.
func (s *Store) DropTable(ctx context.Context) error {
	if _, err := s.write(ctx, "DROP TABLE IF EXISTS "+quote(s.table)); err != nil {
		return s.wrap(ctx, "drop table", err)
	}
	return nil
}

// Load returns the live record stored under id.
func (s *Store) Load(ctx context.Context, id string) (rec sessionstore.Record, found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return rec, false, fmt.Errorf("sqlite: load: %w", err)
	}
	if err := s.open(); err != nil {
		return rec, false, fmt.Errorf("sqlite: load: %w", err)
	}
	var expiry, version int64
	err = s.retry(ctx, func() error {
		st, err := s.stmt(ctx, s.sql.load)
		if err != nil {
			return err
		}
		return st.QueryRowContext(ctx, []byte(id), s.nowNanos()).Scan(&rec.Data, &expiry, &version)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sessionstore.Record{}, false, nil
	case err != nil:
		return sessionstore.Record{}, false, s.wrap(ctx, "load", err)
	}
	rec.Data, rec.Expiry, rec.Version = nonNil(rec.Data), time.Unix(0, expiry), uint64(version)
	return rec, true, nil
}

// Save writes data and expiry under id in one upsert, with a new version.
// An expiry at or before now deletes id instead.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return fmt.Errorf("sqlite: save: %w", err)
	}
	var err error
	if exp := nanos(expiry); exp <= s.nowNanos() {
		_, err = s.write(ctx, s.sql.delete, []byte(id))
	} else {
		_, err = s.write(ctx, s.sql.upsert, []byte(id), nonNil(data), exp, newVersion())
	}
	if err != nil {
		return s.wrap(ctx, "save", err)
	}
	return nil
}

// Delete removes id; a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("sqlite: delete: %w", err)
	}
	if _, err := s.write(ctx, s.sql.delete, []byte(id)); err != nil {
		return s.wrap(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of a live record in one UPDATE, keeping its data
// and version. An expiry at or before now deletes the record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return false, fmt.Errorf("sqlite: touch: %w", err)
	}
	now := s.nowNanos()
	var n int64
	if exp := nanos(expiry); exp <= now {
		n, err = s.write(ctx, s.sql.deleteLive, []byte(id), now)
	} else {
		n, err = s.write(ctx, s.sql.touch, []byte(id), now, exp)
	}
	if err != nil {
		return false, s.wrap(ctx, "touch", err)
	}
	return n > 0, nil
}

// CompareAndSwap writes data and expiry under id, with a new version, only
// if the live record still has the given version (0: only if there is no
// live record). Each case is one statement, and SQLite runs one write at a
// time, so exactly one of many racing callers wins; no transaction reads
// first and writes later (which would need BEGIN IMMEDIATE to avoid a
// deadlock between two readers upgrading to writers).
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return false, fmt.Errorf("sqlite: compare and swap: %w", err)
	}
	now, exp := s.nowNanos(), nanos(expiry)
	var n int64
	switch live := exp > now; {
	case version == 0 && live:
		n, err = s.write(ctx, s.sql.insertIfAbsent, []byte(id), nonNil(data), exp, newVersion(), now)
	case version == 0:
		// Writing an expired record where none is live leaves nothing
		// live: it succeeds exactly when nothing is live already.
		if err = s.open(); err == nil {
			var absent bool
			err = s.retry(ctx, func() error {
				st, err := s.stmt(ctx, s.sql.absent)
				if err != nil {
					return err
				}
				return st.QueryRowContext(ctx, []byte(id), now).Scan(&absent)
			})
			if absent {
				n = 1
			}
		}
	case version > math.MaxInt64:
		// Versions are positive int64s: this one was never given out.
		if err = s.open(); err == nil {
			err = ctx.Err()
		}
	case live:
		n, err = s.write(ctx, s.sql.swap, []byte(id), int64(version), nonNil(data), exp, newVersion(), now)
	default:
		n, err = s.write(ctx, s.sql.swapDelete, []byte(id), int64(version), now)
	}
	if err != nil {
		return false, s.wrap(ctx, "compare and swap", err)
	}
	return n > 0, nil
}

// Iterate calls fn for each live record, reading the table in pages of 100
// rows in primary key order, so it holds at most one page in memory. No
// connection is held while fn runs, so fn may call the store (to delete what
// it visits, say).
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	if err := s.open(); err != nil {
		return fmt.Errorf("sqlite: iterate: %w", err)
	}
	after := []byte{}
	for {
		var page []idRecord
		err := s.retry(ctx, func() (err error) {
			page, err = s.page(ctx, after)
			return err
		})
		if err != nil {
			return s.wrap(ctx, "iterate", err)
		}
		for _, r := range page {
			if err := ctx.Err(); err != nil {
				return s.wrap(ctx, "iterate", err)
			}
			if !fn(r.id, r.rec) {
				return nil
			}
		}
		if len(page) < iteratePageSize {
			return nil
		}
		after = []byte(page[len(page)-1].id)
	}
}

type idRecord struct {
	id  string
	rec sessionstore.Record
}

// page reads the live records whose ids follow after.
func (s *Store) page(ctx context.Context, after []byte) ([]idRecord, error) {
	st, err := s.stmt(ctx, s.sql.iterate)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, after, s.nowNanos(), iteratePageSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]idRecord, 0, iteratePageSize)
	for rows.Next() {
		var (
			r               idRecord
			id              []byte
			expiry, version int64
		)
		if err := rows.Scan(&id, &r.rec.Data, &expiry, &version); err != nil {
			return nil, err
		}
		r.id, r.rec.Data = string(id), nonNil(r.rec.Data)
		r.rec.Expiry, r.rec.Version = time.Unix(0, expiry), uint64(version)
		page = append(page, r)
	}
	return page, rows.Err()
}

// Count returns the number of live records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.open(); err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	var n int64
	err := s.retry(ctx, func() error {
		st, err := s.stmt(ctx, s.sql.count)
		if err != nil {
			return err
		}
		return st.QueryRowContext(ctx, s.nowNanos()).Scan(&n)
	})
	if err != nil {
		return 0, s.wrap(ctx, "count", err)
	}
	return int(n), nil
}

// Close stops the background cleanup and waits for it to finish. A Store
// from Open then closes its database, and later calls fail with an error
// wrapping sessionstore.ErrClosed; a Store from New leaves db open and keeps
// serving calls. Calling Close again does nothing and returns what the first
// call returned.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCleanup != nil {
			s.stopCleanup()
			<-s.cleanupDone
		}
		// A store from New keeps its token: it may still write.
		leaveTurns(s.turnKey)
		if s.ownDB {
			s.closed.Store(true)
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("sqlite: close: %w", err)
			}
		}
	})
	return s.closeErr
}

// DeleteExpired deletes the expired rows, in batches of CleanupBatchSize
// until a batch comes back short, and returns how many it deleted. The
// background cleanup calls it; call it yourself when that is disabled.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.write(ctx, s.sql.cleanup, s.nowNanos(), s.batchSize)
		total += n
		if err != nil {
			return total, s.wrap(ctx, "delete expired", err)
		}
		if n < int64(s.batchSize) {
			return total, nil
		}
	}
}

func (s *Store) cleanupLoop(ctx context.Context, every time.Duration) {
	defer close(s.cleanupDone)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, err := s.DeleteExpired(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("sqlite: session cleanup failed", "table", s.table, "deleted", n, "err", err)
			case n > 0:
				s.log.Debug("sqlite: session cleanup", "table", s.table, "deleted", n)
			}
		}
	}
}

// turns holds the write token of each database that open Stores of this
// process use, with how many use it. Two paths or two *sql.DBs naming one
// file get two tokens: their writes then meet in SQLite's lock, which
// busy_timeout and retry handle.
var turns = struct {
	sync.Mutex
	m map[any]*turn
}{m: map[any]*turn{}}

type turn struct {
	token chan struct{}
	users int
}

// takeTurns returns the write token of the database key names, made on
// first use.
func takeTurns(key any) chan struct{} {
	turns.Lock()
	defer turns.Unlock()
	t := turns.m[key]
	if t == nil {
		t = &turn{token: make(chan struct{}, 1)}
		turns.m[key] = t
	}
	t.users++
	return t.token
}

// leaveTurns forgets the token of key once no Store uses it.
func leaveTurns(key any) {
	turns.Lock()
	defer turns.Unlock()
	if t := turns.m[key]; t != nil {
		if t.users--; t.users == 0 {
			delete(turns.m, key)
		}
	}
}

// open reports ErrClosed once Close closed the database Open made.
func (s *Store) open() error {
	if s.closed.Load() {
		return sessionstore.ErrClosed
	}
	return nil
}

// write runs one writing statement in its turn (once the write in progress
// among the stores sharing s.writer is done), and returns how many rows it
// changed. The turn is taken with the context: a caller whose context ends
// while it waits leaves with ctx's error.
func (s *Store) write(ctx context.Context, query string, args ...any) (int64, error) {
	if err := s.open(); err != nil {
		return 0, err
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-s.writer }()
	var n int64
	err := s.retry(ctx, func() error {
		st, err := s.stmt(ctx, query)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// stmt returns query prepared. A statement that fails to prepare (its
// table does not exist yet) is prepared again at the next call.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.prepared.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.prepared.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Backoff of retry: the first wait, and the longest.
const (
	retryFirst = 100 * time.Microsecond
	retryMax   = 20 * time.Millisecond
)

// retry runs call again while it fails because the database is locked
// (SQLITE_BUSY, SQLITE_LOCKED): another process holds the write lock longer
// than busy_timeout, or db has no busy_timeout at all. A statement that
// failed so changed nothing, so running it again is safe. The waits grow,
// with jitter, to retryMax; the context bounds them.
func (s *Store) retry(ctx context.Context, call func() error) error {
	wait := retryFirst
	for {
		err := call()
		if err == nil || !locked(err) {
			return err
		}
		s.lockRetries.Add(1)
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// locked reports whether err is SQLite's "database is locked" or "table is
// locked", primary or extended code.
func locked(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// wrap names the failed operation and makes sure the error wraps ctx.Err()
// (and the context's cause, when one was given) when the context ended,
// whatever the driver made of it (an interrupted statement); ErrClosed when
// the store was closed under the call; ErrTooLarge when SQLite refused a
// value as too big for its limits.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if s.closed.Load() && !errors.Is(err, sessionstore.ErrClosed) {
		err = fmt.Errorf("%w: %w", sessionstore.ErrClosed, err)
	}
	var e *sqlite.Error
	if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_TOOBIG {
		err = fmt.Errorf("%w: %w", sessionstore.ErrTooLarge, err)
	}
	if ctxErr := sessionstore.ContextErr(ctx); ctxErr != nil {
		if !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// nowNanos is the store's clock in unix nanoseconds.
func (s *Store) nowNanos() int64 { return nanos(s.now()) }

// minTime is the earliest time UnixNano can represent.
var minTime = time.Unix(0, math.MinInt64)

// nanos converts t to unix nanoseconds, clamping times outside int64's
// range (for which time.UnixNano is undefined): the zero time and anything
// before 1678 to the earliest, anything after MaxExpiry to MaxExpiry.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(sessionstore.MaxExpiry):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nonNil keeps nil data from being sent as NULL.
func nonNil(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}

// newVersion returns a random positive version (63 bits). Random rather than
// counted, so a record deleted and created again, by this process or another
// one, before or after a restart, never repeats a version a caller may still
// hold (the ABA problem of compare-and-swap): two draws meet with probability
// 2^-63.
func newVersion() int64 {
	for {
		if v := rand.Int64(); v != 0 {
			return v
		}
	}
}
