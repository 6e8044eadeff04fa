package mysql

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
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sessionstore/sessionstore"
)

// Defaults of [Options].
const (
	DefaultTable            = "sessions"
	DefaultCleanupInterval  = 5 * time.Minute
	DefaultCleanupBatchSize = 1000
	DefaultMaxDataSize      = 4 << 20 // 4 MiB
)

// PacketOverhead is what a write needs in max_allowed_packet besides its
// data: the id (at most 256 bytes), the other columns and the protocol's
// headers, with room to spare. The largest data a Store accepts is
// max_allowed_packet less PacketOverhead (see Options.MaxDataSize).
const PacketOverhead = 1 << 10

// SQL of the store. %[1]s is the quoted table name. Every statement compares
// the expiry column with a time the application passes (?), in Unix
// nanoseconds of its own clock, never with the server's NOW(): the server's
// clock and time zone play no part in what "expired" means.
const (
	createTableSQL = `CREATE TABLE IF NOT EXISTS %[1]s (
    id      VARBINARY(256)  NOT NULL,
    data    LONGBLOB        NOT NULL,
    expiry  BIGINT          NOT NULL,
    version BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    INDEX expiry_idx (expiry)
) ENGINE=InnoDB`

	loadSQL = `SELECT data, expiry, version FROM %[1]s WHERE id = ? AND expiry > ?`

	// VALUES(col) is the value the INSERT would have written: the data is
	// sent once. MySQL 8.0.20 deprecates it for a row alias, which MariaDB
	// lacks; both servers run it.
	upsertSQL = `INSERT INTO %[1]s (id, data, expiry, version) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry), version = VALUES(version)`

	// A version-0 CompareAndSwap inserts; when a row holds the id, it
	// replaces that row only if it has expired, and else asks whether one
	// is live (see CompareAndSwap). Its outcome never rests on an UPDATE
	// that changes nothing, whose count depends on the driver's
	// clientFoundRows setting.
	insertSQL         = `INSERT INTO %[1]s (id, data, expiry, version) VALUES (?, ?, ?, ?)`
	replaceExpiredSQL = `UPDATE %[1]s SET data = ?, expiry = ?, version = ? WHERE id = ? AND expiry <= ?`
	liveSQL           = `SELECT EXISTS (SELECT 1 FROM %[1]s WHERE id = ? AND expiry > ?)`

	// swapSQL always changes the version, so a matched row counts as
	// changed whatever clientFoundRows says.
	swapSQL       = `UPDATE %[1]s SET data = ?, expiry = ?, version = ? WHERE id = ? AND version = ? AND expiry > ?`
	swapDeleteSQL = `DELETE FROM %[1]s WHERE id = ? AND version = ? AND expiry > ?`

	deleteSQL = `DELETE FROM %[1]s WHERE id = ?`

	// touchSQL gives the row a new version when the expiry stays the same,
	// so that a live row is always changed and counted, whatever
	// clientFoundRows says; otherwise the version is kept. The version is
	// assigned first: it reads the expiry before the update.
	touchSQL      = `UPDATE %[1]s SET version = IF(expiry = ?, ?, version), expiry = ? WHERE id = ? AND expiry > ?`
	deleteLiveSQL = `DELETE FROM %[1]s WHERE id = ? AND expiry > ?`

	// iterateSQL walks the primary key in pages, so a walk holds no
	// connection and no snapshot while the caller's function runs. Every id
	// is longer than the empty string the first page starts after.
	iterateSQL = `SELECT id, data, expiry, version FROM %[1]s WHERE id > ? AND expiry > ? ORDER BY id LIMIT ?`
	countSQL   = `SELECT COUNT(*) FROM %[1]s WHERE expiry > ?`

	// A cleanup batch reads the ids of expired rows, oldest first, without
	// a lock (a consistent read), then deletes those rows by primary key,
	// each checked again under its row lock. It locks nothing but expired
	// rows: a DELETE ... WHERE expiry <= ? LIMIT n would instead lock the
	// expiry index up to the first live entry (next-key locks, under the
	// default REPEATABLE READ), stalling writers that refresh the session
	// expiring first or create one expiring before it, and deadlocking with
	// them (a writer locks the row, then its index entry; the range scan
	// the other way round). The DELETE names the primary key, lest the
	// optimizer scan a small table whole, locking every row it reads; the
	// multi-table form is the one both servers take an index hint in.
	// %[2]s is one placeholder per id.
	selectExpiredSQL = `SELECT id FROM %[1]s WHERE expiry <= ? ORDER BY expiry LIMIT ?`
	deleteExpiredSQL = `DELETE s FROM %[1]s AS s FORCE INDEX (PRIMARY) WHERE s.id IN (%[2]s) AND s.expiry <= ?`

	packetSQL = `SELECT @@max_allowed_packet`
)

// iteratePageSize is how many rows Iterate reads per round trip.
const iteratePageSize = 100

// maxIdentifierLength is the longest name, in characters, MySQL and MariaDB
// accept for a database or a table; they refuse longer ones rather than cut
// them.
const maxIdentifierLength = 64

// A statement InnoDB chose as the victim of a deadlock was rolled back
// whole, so it is run again, after a random pause of up to
// deadlockPause × its attempt, at most deadlockRetries times and never past
// its context. Deadlocks come from InnoDB's duplicate-key checks, which take
// a shared lock on the row in the way (live or deleted but not yet purged)
// before the exclusive one a write needs: two such writers of one id can
// each hold the first and wait for the second.
const (
	deadlockRetries = 20
	deadlockPause   = time.Millisecond
)

// Error numbers of the server.
const (
	errDupEntry         = 1062 // ER_DUP_ENTRY
	errNetPacketTooLong = 1153 // ER_NET_PACKET_TOO_LARGE
	errLockDeadlock     = 1213 // ER_LOCK_DEADLOCK
)

// Options configure a [Store]. The zero value is ready to use.
type Options struct {
	// Table is the table holding the sessions, optionally qualified by its
	// database ("app.sessions"); a dot always separates database from table.
	// The name is quoted, so it may hold any character MySQL allows in a
	// name: up to 64 characters, none of them NUL or outside the Basic
	// Multilingual Plane, not ending in a space. Names differing only in
	// case are different tables on servers with lower_case_table_names=0
	// (the Linux default) and the same table where it is 1 or 2 (Windows,
	// macOS). The database must already exist.
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
	// sessionstore.ErrTooLarge before it is sent. It is capped at the
	// server's max_allowed_packet less PacketOverhead (1 KiB), which the
	// store reads once, on the first Save or CompareAndSwap: a row larger
	// than a packet could be neither written nor read back. Servers' default
	// max_allowed_packet is 16 MiB (MariaDB 10.2 and later), 64 MiB (MySQL
	// 8) or 4 MiB (MySQL 5.7), so the default fits all of them.
	// Optional. Default is 4 MiB.
	MaxDataSize int

	// Now is the clock the store compares expiries with.
	// Optional. Default is time.Now.
	Now func() time.Time

	// Logger receives the errors of the background cleanup.
	// Optional. Default is slog.Default().
	Logger *slog.Logger
}

// Store keeps sessions in one MySQL or MariaDB table. It implements
// sessionstore.Store, Toucher, Swapper, Iterator, Counter and io.Closer, and
// is safe for concurrent use.
type Store struct {
	db        *sql.DB
	table     string // quoted
	sql       statements
	maxData   int          // Options.MaxDataSize or its default
	limit     atomic.Int64 // maxData capped by max_allowed_packet; 0 until read
	limitMu   ctxMutex     // held while reading max_allowed_packet
	batchSize int
	now       func() time.Time
	log       *slog.Logger

	// closeMu is held for reading while a call uses a prepared statement,
	// and for writing while Close closes them.
	closeMu sync.RWMutex
	closed  bool

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
	load, upsert, insert, replaceExpired, live, swap, swapDelete,
	delete, touch, deleteLive, iterate, count, packet, selectExpired stmt
}

// stmt is one statement of the store. It is prepared the first time it
// runs, and database/sql then keeps it prepared on each connection it runs
// on: with the driver's defaults an unprepared call with arguments is a
// prepare, an execute and a close, where a prepared one is one round trip.
type stmt struct {
	query    string
	mu       ctxMutex // held while preparing
	prepared atomic.Pointer[sql.Stmt]
}

// New returns a Store over db, which stays the caller's: the Store opens no
// connection of its own and Close leaves db open. db must use
// github.com/go-sql-driver/mysql, with any DSN settings. New does no I/O;
// call [Store.CreateTable] (or run [Store.Schema] in a migration) before use.
// Unless disabled, a background cleanup runs until Close.
func New(db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("mysql: new: nil db")
	}
	if opts.MaxDataSize < 0 || opts.CleanupBatchSize < 0 {
		return nil, errors.New("mysql: new: negative MaxDataSize or CleanupBatchSize")
	}
	table, err := quoteTable(cmp.Or(opts.Table, DefaultTable))
	if err != nil {
		return nil, fmt.Errorf("mysql: new: %w", err)
	}
	s := &Store{
		db:        db,
		table:     table,
		maxData:   cmp.Or(opts.MaxDataSize, DefaultMaxDataSize),
		batchSize: cmp.Or(opts.CleanupBatchSize, DefaultCleanupBatchSize),
		limitMu:   newCtxMutex(),
		now:       opts.Now,
		log:       opts.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.sql = statements{
		load:           stmt{query: s.format(loadSQL)},
		upsert:         stmt{query: s.format(upsertSQL)},
		insert:         stmt{query: s.format(insertSQL)},
		replaceExpired: stmt{query: s.format(replaceExpiredSQL)},
		live:           stmt{query: s.format(liveSQL)},
		swap:           stmt{query: s.format(swapSQL)},
		swapDelete:     stmt{query: s.format(swapDeleteSQL)},
		delete:         stmt{query: s.format(deleteSQL)},
		touch:          stmt{query: s.format(touchSQL)},
		deleteLive:     stmt{query: s.format(deleteLiveSQL)},
		iterate:        stmt{query: s.format(iterateSQL)},
		count:          stmt{query: s.format(countSQL)},
		packet:         stmt{query: packetSQL},
		selectExpired:  stmt{query: s.format(selectExpiredSQL)},
	}
	for _, st := range s.sql.prepared() {
		st.mu = newCtxMutex()
	}
	if every := cmp.Or(opts.CleanupInterval, DefaultCleanupInterval); every > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopCleanup, s.cleanupDone = cancel, make(chan struct{})
		go s.cleanupLoop(ctx, every)
	}
	return s, nil
}

// quoteTable splits "database.table", rejects names the server would refuse
// or read differently, and quotes each part with backticks.
func quoteTable(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("table %q: more than one dot (want table or database.table)", name)
	}
	for i, p := range parts {
		switch {
		case p == "":
			return "", fmt.Errorf("table %q: empty name", name)
		case !utf8.ValidString(p):
			return "", fmt.Errorf("table %q: not valid UTF-8", name)
		case utf8.RuneCountInString(p) > maxIdentifierLength:
			return "", fmt.Errorf("table %q: %q is longer than %d characters", name, p, maxIdentifierLength)
		case strings.HasSuffix(p, " "):
			return "", fmt.Errorf("table %q: %q ends in a space", name, p)
		}
		for _, r := range p {
			if r == 0 || r > 0xFFFF {
				return "", fmt.Errorf("table %q: character %U is not allowed in a name", name, r)
			}
		}
		parts[i] = "`" + strings.ReplaceAll(p, "`", "``") + "`"
	}
	return strings.Join(parts, "."), nil
}

func (s *Store) format(sql string) string { return fmt.Sprintf(sql, s.table) }

// Schema returns the SQL that CreateTable runs, for people who run their
// migrations themselves.
func (s *Store) Schema() string {
	return s.format(createTableSQL) + ";\n"
}

// CreateTable creates the table and its expiry index if they do not exist.
// It is idempotent and safe to call from several processes at once.
func (s *Store) CreateTable(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.format(createTableSQL)); err != nil {
		return wrap(ctx, "create table", err)
	}
	return nil
}

// Load returns the live record stored under id.
func (s *Store) Load(ctx context.Context, id string) (rec sessionstore.Record, found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return rec, false, fmt.Errorf("mysql: load: %w", err)
	}
	var expiry int64
	err = s.queryRow(ctx, &s.sql.load, []any{[]byte(id), s.nowNanos()}, &rec.Data, &expiry, &rec.Version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sessionstore.Record{}, false, nil
	case err != nil:
		return sessionstore.Record{}, false, wrap(ctx, "load", err)
	}
	rec.Data, rec.Expiry = nonNil(rec.Data), time.Unix(0, expiry)
	return rec, true, nil
}

// Save writes data and expiry under id in one upsert, with a new version.
// An expiry at or before now deletes id instead.
func (s *Store) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	if err := s.checkData(ctx, id, data); err != nil {
		return wrap(ctx, "save", err)
	}
	var err error
	if now := s.now(); !expiry.After(now) {
		_, err = s.exec(ctx, &s.sql.delete, []byte(id))
	} else {
		_, err = s.exec(ctx, &s.sql.upsert, []byte(id), nonNil(data), nanos(expiry), newVersion(0))
	}
	if err != nil {
		return wrap(ctx, "save", err)
	}
	return nil
}

// Delete removes id; a missing id is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := sessionstore.CheckID(id); err != nil {
		return fmt.Errorf("mysql: delete: %w", err)
	}
	if _, err := s.exec(ctx, &s.sql.delete, []byte(id)); err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of a live record in one UPDATE, keeping its data
// and, unless the expiry stays the same, its version. An expiry at or before
// now deletes the record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (found bool, err error) {
	if err := sessionstore.CheckID(id); err != nil {
		return false, fmt.Errorf("mysql: touch: %w", err)
	}
	now := s.now()
	var n int64
	if !expiry.After(now) {
		n, err = s.exec(ctx, &s.sql.deleteLive, []byte(id), now.UnixNano())
	} else {
		exp := nanos(expiry)
		n, err = s.exec(ctx, &s.sql.touch, exp, newVersion(0), exp, []byte(id), now.UnixNano())
	}
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return n > 0, nil
}

// CompareAndSwap writes data and expiry under id, with a new version, only
// if the live record still has the given version (0: only if there is no
// live record). With a version, it is one statement, whose row lock makes
// exactly one of many racing callers win. With version 0 it is one INSERT
// when the id is free, as it is for a new session; when a row holds the id,
// an UPDATE replaces it only if it has expired, and when that finds nothing
// expired a SELECT tells a live row (the swap lost) from one deleted since
// the INSERT (the INSERT is tried again). The primary key makes exactly one
// racing INSERT or UPDATE win.
func (s *Store) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := s.checkData(ctx, id, data); err != nil {
		return false, wrap(ctx, "compare and swap", err)
	}
	now := s.now()
	var n int64
	switch live := expiry.After(now); {
	case version == 0 && live:
		swapped, err = s.insertIfAbsent(ctx, []byte(id), nonNil(data), nanos(expiry))
		if err != nil {
			return false, wrap(ctx, "compare and swap", err)
		}
		return swapped, nil
	case version == 0:
		// Writing an expired record where none is live leaves nothing
		// live: it succeeds exactly when nothing is live already.
		var exists bool
		if err = s.queryRow(ctx, &s.sql.live, []any{[]byte(id), now.UnixNano()}, &exists); err == nil && !exists {
			n = 1
		}
	case live:
		n, err = s.exec(ctx, &s.sql.swap, nonNil(data), nanos(expiry), newVersion(version), []byte(id), version, now.UnixNano())
	default:
		n, err = s.exec(ctx, &s.sql.swapDelete, []byte(id), version, now.UnixNano())
	}
	if err != nil {
		return false, wrap(ctx, "compare and swap", err)
	}
	return n > 0, nil
}

// insertIfAbsent writes a record under id unless a live one is there.
func (s *Store) insertIfAbsent(ctx context.Context, id, data []byte, expiry int64) (bool, error) {
	for {
		version := newVersion(0)
		_, err := s.exec(ctx, &s.sql.insert, id, data, expiry, version)
		if err == nil {
			return true, nil
		}
		if !isServerError(err, errDupEntry) {
			return false, err
		}
		now := s.now().UnixNano()
		n, err := s.exec(ctx, &s.sql.replaceExpired, data, expiry, version, id, now)
		if err != nil || n > 0 {
			return err == nil, err
		}
		var exists bool
		if err := s.queryRow(ctx, &s.sql.live, []any{id, now}, &exists); err != nil || exists {
			return false, err
		}
	}
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
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	rows, err := s.query(ctx, &s.sql.iterate, after, s.nowNanos(), iteratePageSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]idRecord, 0, iteratePageSize)
	for rows.Next() {
		var (
			r      idRecord
			id     []byte
			expiry int64
		)
		if err := rows.Scan(&id, &r.rec.Data, &expiry, &r.rec.Version); err != nil {
			return nil, err
		}
		r.id, r.rec.Data, r.rec.Expiry = string(id), nonNil(r.rec.Data), time.Unix(0, expiry)
		page = append(page, r)
	}
	return page, rows.Err()
}

// Count returns the number of live records.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int64
	if err := s.queryRow(ctx, &s.sql.count, []any{s.nowNanos()}, &n); err != nil {
		return 0, wrap(ctx, "count", err)
	}
	return int(n), nil
}

// Close stops the background cleanup and waits for it to finish, then
// releases the store's prepared statements once the calls using them have
// returned (calls made meanwhile wait for that too). It leaves db open, and
// the Store keeps serving calls, each then prepared, run and closed by
// database/sql. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCleanup != nil {
			s.stopCleanup()
			<-s.cleanupDone
		}
		s.closeMu.Lock()
		defer s.closeMu.Unlock()
		s.closed = true
		for _, st := range s.sql.prepared() {
			if p := st.prepared.Swap(nil); p != nil {
				p.Close()
			}
		}
	})
	return nil
}

// prepared lists every statement the store prepares.
func (sql *statements) prepared() []*stmt {
	return []*stmt{&sql.load, &sql.upsert, &sql.insert, &sql.replaceExpired, &sql.live, &sql.swap,
		&sql.swapDelete, &sql.delete, &sql.touch, &sql.deleteLive, &sql.iterate, &sql.count, &sql.packet,
		&sql.selectExpired}
}

// DeleteExpired deletes the expired rows, in batches of CleanupBatchSize
// until a batch comes back short, and returns how many it deleted. The
// background cleanup calls it; call it yourself when that is disabled.
// A batch reads the ids of expired rows without locking anything, then
// deletes those rows by primary key: it never locks a live row or a gap a
// new session would be inserted in, so writers never wait for it.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		found, deleted, err := s.deleteBatch(ctx, nil)
		total += deleted
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		if found < s.batchSize {
			return total, nil
		}
	}
}

// deleteBatch deletes one batch of expired rows, through tx when it is not
// nil, and returns how many expired rows it found and how many of them it
// deleted (a row refreshed meanwhile is kept).
func (s *Store) deleteBatch(ctx context.Context, tx *sql.Tx) (found int, deleted int64, err error) {
	now := s.nowNanos()
	var ids []any
	s.closeMu.RLock()
	rows, err := s.query(ctx, &s.sql.selectExpired, now, s.batchSize)
	if err == nil {
		for rows.Next() {
			var id []byte
			if err = rows.Scan(&id); err != nil {
				break
			}
			ids = append(ids, id)
		}
		rows.Close()
		err = cmp.Or(err, rows.Err())
	}
	s.closeMu.RUnlock()
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	q := fmt.Sprintf(deleteExpiredSQL, s.table, strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "))
	args := append(ids, now)
	err = retryDeadlock(ctx, func() error {
		var res sql.Result
		var err error
		if tx != nil {
			res, err = tx.ExecContext(ctx, q, args...)
		} else {
			res, err = s.db.ExecContext(ctx, q, args...)
		}
		if err == nil {
			deleted, err = res.RowsAffected()
		}
		return err
	})
	return len(ids), deleted, err
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
				s.log.Error("mysql: session cleanup failed", "table", s.table, "deleted", n, "err", err)
			case n > 0:
				s.log.Debug("mysql: session cleanup", "table", s.table, "deleted", n)
			}
		}
	}
}

// checkData checks id and the size of data before anything is sent: at most
// MaxDataSize, and at most what the server's max_allowed_packet lets a row
// carry, which it reads the first time.
func (s *Store) checkData(ctx context.Context, id string, data []byte) error {
	if err := sessionstore.CheckData(id, data, s.maxData); err != nil {
		return err
	}
	limit := s.limit.Load()
	if limit == 0 {
		var err error
		if limit, err = s.readLimit(ctx); err != nil {
			return fmt.Errorf("read max_allowed_packet: %w", err)
		}
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w: %d bytes, more than %d (the server's max_allowed_packet less %d)",
			sessionstore.ErrTooLarge, len(data), limit, PacketOverhead)
	}
	return nil
}

// readLimit reads max_allowed_packet, once: the first writes of a store wait
// for one read rather than each making its own.
func (s *Store) readLimit(ctx context.Context) (int64, error) {
	if err := s.limitMu.lock(ctx); err != nil {
		return 0, err
	}
	defer s.limitMu.unlock()
	if limit := s.limit.Load(); limit != 0 {
		return limit, nil
	}
	var packet int64
	if err := s.queryRow(ctx, &s.sql.packet, nil, &packet); err != nil {
		return 0, err
	}
	// At least 1: 0 means "not read yet", even on the smallest packet.
	limit := max(min(int64(s.maxData), packet-PacketOverhead), 1)
	s.limit.Store(limit)
	return limit, nil
}

// MaxDataSize returns the largest data Save and CompareAndSwap accept:
// Options.MaxDataSize capped by the server's max_allowed_packet, which it
// reads if no write has yet.
func (s *Store) MaxDataSize(ctx context.Context) (int, error) {
	if err := s.checkData(ctx, "x", nil); err != nil {
		return 0, wrap(ctx, "max data size", err)
	}
	return int(s.limit.Load()), nil
}

// prepare returns st prepared, preparing it the first time.
func (s *Store) prepare(ctx context.Context, st *stmt) (*sql.Stmt, error) {
	if p := st.prepared.Load(); p != nil {
		return p, nil
	}
	if err := st.mu.lock(ctx); err != nil {
		return nil, err
	}
	defer st.mu.unlock()
	if p := st.prepared.Load(); p != nil {
		return p, nil
	}
	p, err := s.db.PrepareContext(ctx, st.query)
	if err != nil {
		return nil, err
	}
	st.prepared.Store(p)
	return p, nil
}

// exec runs a write and returns how many rows it changed; a deadlock
// victim runs again.
func (s *Store) exec(ctx context.Context, st *stmt, args ...any) (n int64, err error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	err = retryDeadlock(ctx, func() error {
		var res sql.Result
		var err error
		if s.closed {
			res, err = s.db.ExecContext(ctx, st.query, args...)
		} else {
			var p *sql.Stmt
			if p, err = s.prepare(ctx, st); err == nil {
				res, err = p.ExecContext(ctx, args...)
			}
		}
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// retryDeadlock runs write until it returns anything but a deadlock error,
// as the comment on deadlockRetries says.
func retryDeadlock(ctx context.Context, write func() error) error {
	for attempt := 1; ; attempt++ {
		err := write()
		if !isServerError(err, errLockDeadlock) || attempt > deadlockRetries {
			return err
		}
		pause := time.NewTimer(rand.N(time.Duration(attempt) * deadlockPause))
		select {
		case <-ctx.Done():
			pause.Stop()
			return err
		case <-pause.C:
		}
	}
}

// query runs a query; the caller holds closeMu for reading until it has
// closed the rows.
func (s *Store) query(ctx context.Context, st *stmt, args ...any) (*sql.Rows, error) {
	if s.closed {
		return s.db.QueryContext(ctx, st.query, args...)
	}
	p, err := s.prepare(ctx, st)
	if err != nil {
		return nil, err
	}
	return p.QueryContext(ctx, args...)
}

// queryRow runs a query of at most one row and scans it into dest; no row
// is sql.ErrNoRows.
func (s *Store) queryRow(ctx context.Context, st *stmt, args []any, dest ...any) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return s.db.QueryRowContext(ctx, st.query, args...).Scan(dest...)
	}
	p, err := s.prepare(ctx, st)
	if err != nil {
		return err
	}
	return p.QueryRowContext(ctx, args...).Scan(dest...)
}

// ctxMutex is a mutex whose lock gives up when the context ends: the first
// calls of a store wait for one of them to prepare a statement or read
// max_allowed_packet, and a call with a shorter deadline must not wait for
// another's longer one when the server hangs. The zero value is not ready:
// make it with newCtxMutex.
type ctxMutex chan struct{}

func newCtxMutex() ctxMutex { return make(ctxMutex, 1) }

func (m ctxMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m ctxMutex) unlock() { <-m }

// nowNanos is now in the unit of the expiry column.
func (s *Store) nowNanos() int64 { return s.now().UnixNano() }

// nanos returns a future expiry as the expiry column holds it: in Unix
// nanoseconds, exact up to MaxExpiry, and MaxExpiry for anything later.
func nanos(t time.Time) int64 {
	if t.After(sessionstore.MaxExpiry) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// isServerError reports whether err is the server's error number.
func isServerError(err error, number uint16) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// wrap names the failed operation, marks a packet the server or the driver
// found too large as sessionstore.ErrTooLarge, and makes sure the error
// wraps ctx.Err() when the context ended, whatever the driver made of it (a
// closed connection, an I/O timeout).
func wrap(ctx context.Context, op string, err error) error {
	if !errors.Is(err, sessionstore.ErrTooLarge) &&
		(errors.Is(err, gomysql.ErrPktTooLarge) || isServerError(err, errNetPacketTooLong)) {
		err = fmt.Errorf("%w: %w", sessionstore.ErrTooLarge, err)
	}
	if ctxErr := sessionstore.ContextErr(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("mysql: %s: %w: %w", op, ctxErr, err)
	}
	return fmt.Errorf("mysql: %s: %w", op, err)
}

// nonNil keeps nil data from being sent as NULL.
func nonNil(data []byte) []byte {
	if data == nil {
		return []byte{}
	}
	return data
}

// newVersion returns a random version, neither 0 nor old. Random rather
// than counted, so a record deleted and created again, by this process or
// another, never repeats a version a caller may still hold (the ABA problem
// of compare-and-swap) without a counter that outlives the row and costs a
// round trip of its own: two draws of 64 bits agree once in 2^64.
func newVersion(old uint64) uint64 {
	for {
		if v := rand.Uint64(); v != 0 && v != old {
			return v
		}
	}
}
