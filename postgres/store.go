package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore"
)

// Defaults of [Options].
const (
	DefaultTable            = "sessions"
	DefaultCleanupInterval  = 5 * time.Minute
	DefaultCleanupBatchSize = 1000
	DefaultMaxDataSize      = 4 << 20 // 4 MiB
)

// SQL of the store. %[1]s is the quoted table name, %[2]s the quoted name of
// its expiry index. Every statement compares expiry with a time the
// application passes ($n), never the server's now(), so the application and
// the database agree on what "expired" means even when their clocks differ.
const (
	createTableSQL = `CREATE TABLE IF NOT EXISTS %[1]s (
    id      bytea       PRIMARY KEY,
    data    bytea       NOT NULL,
    expiry  timestamptz NOT NULL,
    version bigint      NOT NULL
)`
	createIndexSQL = `CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (expiry)`

	// schemaLockSQL serializes CreateTable across processes: two concurrent
	// CREATE TABLE IF NOT EXISTS can both miss the other's uncommitted table
	// and one then fails with a unique violation on pg_type. The key is
	// "sesstore" in ASCII, shared by every table of this package.
	schemaLockSQL = `SELECT pg_advisory_xact_lock(8315178125383267941)`

	loadSQL = `SELECT data, expiry, version FROM %[1]s WHERE id = $1 AND expiry > $2`

	upsertSQL = `INSERT INTO %[1]s AS s (id, data, expiry, version) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry, version = excluded.version`

	// insertIfAbsentSQL writes only when no live row holds id: an expired row
	// left for the cleanup counts as absent and is overwritten.
	insertIfAbsentSQL = upsertSQL + `
WHERE s.expiry <= $5`

	swapSQL = `UPDATE %[1]s SET data = $3, expiry = $4, version = $5
WHERE id = $1 AND version = $2 AND expiry > $6`
	swapDeleteSQL = `DELETE FROM %[1]s WHERE id = $1 AND version = $2 AND expiry > $3`
	absentSQL     = `SELECT NOT EXISTS (SELECT 1 FROM %[1]s WHERE id = $1 AND expiry > $2)`

	deleteSQL     = `DELETE FROM %[1]s WHERE id = $1`
	touchSQL      = `UPDATE %[1]s SET expiry = $3 WHERE id = $1 AND expiry > $2`
	deleteLiveSQL = `DELETE FROM %[1]s WHERE id = $1 AND expiry > $2`

	// iterateSQL walks the primary key in pages, so a walk holds no
	// connection and no snapshot while the caller's function runs. Every id
	// is longer than the empty bytea the first page starts after.
	iterateSQL = `SELECT id, data, expiry, version FROM %[1]s
WHERE id > $1 AND expiry > $2 ORDER BY id LIMIT $3`
	countSQL = `SELECT count(*) FROM %[1]s WHERE expiry > $1`

	// cleanupSQL deletes one batch of expired rows. SKIP LOCKED passes over
	// rows a request is writing, so the cleanup never waits for a writer and
	// a writer waits for at most one short batch. The outer expiry test
	// rechecks each row as it is deleted: a session refreshed since the
	// subquery read it is kept.
	cleanupSQL = `DELETE FROM %[1]s WHERE id IN (
    SELECT id FROM %[1]s WHERE expiry <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
) AND expiry <= $1`
)

// iteratePageSize is how many rows Iterate reads per round trip.
const iteratePageSize = 100

// maxIdentifierLength is PostgreSQL's NAMEDATALEN-1: longer names are
// silently truncated by the server, so two long table names could end up
// naming one table.
const maxIdentifierLength = 63

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// Table is the table holding the sessions, optionally qualified by its
	// schema ("app.sessions"); a dot always separates schema from table. The
	// name is quoted, so it is case-sensitive and may hold any character but
	// NUL. Each part is at most 63 bytes. The schema must already exist.
	// Optional. Default is "sessions".
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// rows. A negative value disables it: expired rows are then never
	// returned but stay on disk until DeleteExpired is called (run it from
	// one process's cron job, say, when many processes share the table).
	// Optional. Default is 5 minutes.
	CleanupInterval time.Duration

	// CleanupBatchSize is how many expired rows one cleanup statement
	// deletes; the cleanup repeats until a batch comes back short. Small
	// batches keep every lock short.
	// Optional. Default is 1000.
	CleanupBatchSize int

	// MaxDataSize is the largest data, in bytes, that Save and
	// CompareAndSwap accept; larger data fails with an error wrapping
	// sessionstore.ErrTooLarge before anything is sent. A bytea holds up to
	// 1 GB, but every Load reads the whole value, so keep sessions small.
	// Optional. Default is 4 MiB.
	MaxDataSize int

	// Logger receives the errors of the background cleanup.
	// Optional. Default is slog.Default().
	Logger *slog.Logger
}

// Store keeps sessions in one PostgreSQL table. It implements
// sessionstore.Store, Toucher, Swapper, Iterator, Counter and io.Closer, and
// is safe for concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	table     string // quoted
	index     string // quoted
	sql       statements
	maxData   int
	batchSize int
	log       *slog.Logger

	stopCleanup context.CancelFunc
	cleanupDone chan struct{}
	closeOnce   sync.Once
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

// New returns a Store over pool, which stays the caller's: the Store opens no
// connection of its own and Close leaves pool open. New does no I/O; call
// [Store.CreateTable] (or run [Store.Schema] in a migration) before use.
// Unless disabled, a background cleanup runs until Close.
func New(pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: new: nil pool")
	}
	if opts.MaxDataSize < 0 || opts.CleanupBatchSize < 0 {
		return nil, errors.New("postgres: new: negative MaxDataSize or CleanupBatchSize")
	}
	ident, err := parseTable(cmp.Or(opts.Table, DefaultTable))
	if err != nil {
		return nil, fmt.Errorf("postgres: new: %w", err)
	}
	s := &Store{
		pool:      pool,
		table:     ident.Sanitize(),
		index:     pgx.Identifier{indexName(ident[len(ident)-1])}.Sanitize(),
		maxData:   cmp.Or(opts.MaxDataSize, DefaultMaxDataSize),
		batchSize: cmp.Or(opts.CleanupBatchSize, DefaultCleanupBatchSize),
		log:       opts.Logger,
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

// parseTable splits "schema.table" and rejects names the server would
// mangle: NUL (which quoting drops) and parts it would truncate.
func parseTable(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("table %q: more than one dot (want table or schema.table)", name)
	}
	for _, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("table %q: empty name", name)
		case strings.IndexByte(p, 0) >= 0:
			return nil, fmt.Errorf("table %q: NUL byte", name)
		case len(p) > maxIdentifierLength:
			return nil, fmt.Errorf("table %q: %q is longer than %d bytes", name, p, maxIdentifierLength)
		}
	}
	return pgx.Identifier(parts), nil
}

// indexName names the expiry index of table. A name too long for the server
// is shortened with a hash of the whole name, so that two long table names
// in one schema never share an index name (CREATE INDEX IF NOT EXISTS would
// then silently skip the second index).
func indexName(table string) string {
	const suffix = "_expiry_idx"
	if len(table)+len(suffix) <= maxIdentifierLength {
		return table + suffix
	}
	h := fnv.New64a()
	h.Write([]byte(table))
	tag := fmt.Sprintf("_%016x", h.Sum64())
	prefix := table[:maxIdentifierLength-len(tag)-len(suffix)]
	for !utf8.ValidString(prefix) { // do not cut a character in half
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + tag + suffix
}

func (s *Store) format(sql string) string { return fmt.Sprintf(sql, s.table, s.index) }

// Schema returns the SQL that CreateTable runs, for people who run their
// migrations themselves.
func (s *Store) Schema() string {
	return s.format(createTableSQL) + ";\n" + s.format(createIndexSQL) + ";\n"
}

// CreateTable creates the table and its expiry index if they do not exist.
// It is idempotent and safe to call from several processes at once.
func (s *Store) CreateTable(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, sql := range []string{schemaLockSQL, s.format(createTableSQL), s.format(createIndexSQL)} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap(ctx, "create table", err)
	}
	return nil
}

// Load returns the live record stored under id.
func (s *Store) Load(ctx context.Context, id string) (rec sessionstore.Record, found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return rec, false, fmt.Errorf("postgres: load: %w", err)
	}
	var version int64
	err = s.pool.QueryRow(ctx, s.sql.load, []byte(id), time.Now()).Scan(&rec.Data, &rec.Expiry, &version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sessionstore.Record{}, false, nil
	case err != nil:
		return sessionstore.Record{}, false, wrap(ctx, "load", err)
	}
	rec.Data, rec.Version = nonNil(rec.Data), uint64(version)
	return rec, true, nil
}

// Save writes data and expiry under id in one upsert, with a new version.
// An expiry at or before now deletes id instead.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return fmt.Errorf("postgres: save: %w", err)
	}
	var err error
	if !expiry.After(time.Now()) {
		_, err = s.pool.Exec(ctx, s.sql.delete, []byte(id))
	} else {
		_, err = s.pool.Exec(ctx, s.sql.upsert, []byte(id), nonNil(data), expiry, newVersion())
	}
	if err != nil {
		return wrap(ctx, "save", err)
	}
	return nil
}

// Delete removes id; a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("postgres: delete: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.sql.delete, []byte(id)); err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of a live record in one UPDATE, keeping its data
// and version. An expiry at or before now deletes the record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return false, fmt.Errorf("postgres: touch: %w", err)
	}
	now := time.Now()
	var n int64
	if !expiry.After(now) {
		n, err = s.exec(ctx, s.sql.deleteLive, []byte(id), now)
	} else {
		n, err = s.exec(ctx, s.sql.touch, []byte(id), now, expiry)
	}
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return n > 0, nil
}

// CompareAndSwap writes data and expiry under id, with a new version, only
// if the live record still has the given version (0: only if there is no
// live record). It is one statement; the row lock of the write makes exactly
// one of many racing callers win.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return false, fmt.Errorf("postgres: compare and swap: %w", err)
	}
	now := time.Now()
	var n int64
	switch live := expiry.After(now); {
	case version == 0 && live:
		n, err = s.exec(ctx, s.sql.insertIfAbsent, []byte(id), nonNil(data), expiry, newVersion(), now)
	case version == 0:
		// Writing an expired record where none is live leaves nothing
		// live: it succeeds exactly when nothing is live already.
		var absent bool
		err = s.pool.QueryRow(ctx, s.sql.absent, []byte(id), now).Scan(&absent)
		if absent {
			n = 1
		}
	case live:
		n, err = s.exec(ctx, s.sql.swap, []byte(id), int64(version), nonNil(data), expiry, newVersion(), now)
	default:
		n, err = s.exec(ctx, s.sql.swapDelete, []byte(id), int64(version), now)
	}
	if err != nil {
		return false, wrap(ctx, "compare and swap", err)
	}
	return n > 0, nil
}

// Iterate calls fn for each live record, reading the table in pages of 100
// rows in primary key order, so it holds at most one page in memory. No
// connection is held while fn runs, so fn may call the store (to delete what
// it visits, say).
func (s *Store) Iterate(ctx context.Context, fn func(id string, rec sessionstore.Record) bool) error {
	after := []byte{}
	for {
		page, err := s.page(ctx, after)
		if err != nil {
			return wrap(ctx, "iterate", err)
		}
		for _, r := range page {
			if err := ctx.Err(); err != nil {
				return wrap(ctx, "iterate", err)
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
	rows, err := s.pool.Query(ctx, s.sql.iterate, after, time.Now(), iteratePageSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]idRecord, 0, iteratePageSize)
	for rows.Next() {
		var (
			r       idRecord
			id      []byte
			version int64
		)
		if err := rows.Scan(&id, &r.rec.Data, &r.rec.Expiry, &version); err != nil {
			return nil, err
		}
		r.id, r.rec.Data, r.rec.Version = string(id), nonNil(r.rec.Data), uint64(version)
		page = append(page, r)
	}
	return page, rows.Err()
}

// Count returns the number of live records.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, s.sql.count, time.Now()).Scan(&n); err != nil {
		return 0, wrap(ctx, "count", err)
	}
	return int(n), nil
}

// Close stops the background cleanup and waits for it to finish. It leaves
// the pool open, and the Store keeps serving calls. Calling it again does
// nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCleanup != nil {
			s.stopCleanup()
			<-s.cleanupDone
		}
	})
	return nil
}

// DeleteExpired deletes the expired rows, in batches of CleanupBatchSize
// until a batch comes back short, and returns how many it deleted. The
// background cleanup calls it; call it yourself when that is disabled.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.exec(ctx, s.sql.cleanup, time.Now(), s.batchSize)
		total += n
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
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
				s.log.Error("postgres: session cleanup failed", "table", s.table, "deleted", n, "err", err)
			case n > 0:
				s.log.Debug("postgres: session cleanup", "table", s.table, "deleted", n)
			}
		}
	}
}

// exec runs one statement and returns how many rows it affected.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := s.pool.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// wrap names the failed operation and makes sure the error wraps ctx.Err()
// when the context ended, whatever pgx made of it (a closed connection, an
// I/O timeout).
func wrap(ctx context.Context, op string, err error) error {
	if ctxErr := sessionstore.ContextErr(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("postgres: %s: %w: %w", op, ctxErr, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// nonNil keeps nil data from being sent as NULL.
func nonNil(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}

// newVersion returns a random non-zero version. Random rather than counted,
// so a record deleted and created again never repeats a version a caller may
// still hold (the ABA problem of compare-and-swap).
func newVersion() int64 {
	for {
		if v := int64(rand.Uint64()); v != 0 {
			return v
		}
	}
}
