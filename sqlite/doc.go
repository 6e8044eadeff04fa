// Package sqlite is a sessionstore.Store that keeps sessions in a table of
// an SQLite database, through modernc.org/sqlite (pure Go, no cgo): the
// durable embedded choice for an application that runs on one server, with
// no database server to operate. Sessions survive a restart of the process.
//
// There are two constructors. [Open] opens a database file by its path and
// owns it: it puts it in WAL mode, sets its pragmas, creates the table, and
// Close closes it. [New] takes a *sql.DB the application opened itself and
// never closes it; the application then calls [Store.CreateTable] (or runs
// [Store.Schema] in its migrations).
//
// Besides Load, Save and Delete, a [Store] implements every optional
// capability: Touch (one UPDATE of the expiry), versioned Load with
// CompareAndSwap (a version column, one statement per case), Iterate, Count
// and Close. Every call is one SQL statement in autocommit mode: no
// transaction spans two statements, so no read ever has to be upgraded to a
// write (the case that needs BEGIN IMMEDIATE to avoid SQLITE_BUSY).
//
// # Schema
//
// [Store.CreateTable] puts the database in WAL mode and creates the table and
// its index if they are missing. It is idempotent and safe to run from several
// processes at once. For the default table it runs:
//
//	PRAGMA journal_mode=WAL;
//	CREATE TABLE IF NOT EXISTS "sessions" (
//	    id      BLOB    NOT NULL PRIMARY KEY,
//	    data    BLOB    NOT NULL,
//	    expiry  INTEGER NOT NULL,
//	    version INTEGER NOT NULL
//	) WITHOUT ROWID;
//	CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "sessions" (expiry);
//
// The id is a BLOB, always bound as one, because a session id may be any
// bytes (NUL and invalid UTF-8 included); BLOBs compare byte by byte, so no
// two ids share a row. WITHOUT ROWID keeps each row in the primary key's own
// B-tree: a Load is one lookup. The expiry is unix nanoseconds; the index on
// it serves the cleanup and Count. Table names are quoted, and SQLite
// compares them regardless of ASCII case, so [New] refuses names with
// upper-case ASCII letters rather than let "Sessions" and "sessions" silently
// share a table.
//
// # Versions
//
// The version is a random positive 63-bit number drawn at every write, never
// a counter: a session deleted and created again, by this process or another
// one over the same file, before or after a restart, gets a version no
// caller can still hold, except with probability 2^-63 per write.
//
// # Expiry and cleanup
//
// Expiry is decided by the application's clock (Options.Now, default
// time.Now), to the nanosecond: every statement compares the expiry column
// with a time the store passes as a parameter. A row past its expiry is never
// returned, whether or not it has been deleted yet. Expiries before 1678 are
// stored as the earliest time and count as past; expiries after
// sessionstore.MaxExpiry are stored, and loaded, as MaxExpiry.
//
// Expired rows are deleted by a background goroutine every
// Options.CleanupInterval (default 5 minutes), in batches of
// Options.CleanupBatchSize rows (default 1000), each its own short write,
// repeated until a batch comes back short. Its errors are logged with
// log/slog (Options.Logger). [Store.Close] stops it and waits for it.
//
// # Many writers
//
// SQLite runs one write at a time per database file. The Stores of one
// process over one database (one path given to Open, one *sql.DB given to
// New) take turns for their writes, in order (a token taken with the
// context, so a waiting call ends with its context): they never meet each
// other's lock and never poll for it. Reads run beside the writer (WAL). Against
// the writes of other processes over the same file, Open sets busy_timeout
// (DefaultBusyTimeout: SQLite waits for the lock itself, and modernc.org's
// busy handler gives up when the context ends), and when SQLite still
// reports the database locked ("database is locked", SQLITE_BUSY or
// SQLITE_LOCKED) the store retries the statement, whose failure changed
// nothing, with growing waits until its context ends. So SQLITE_BUSY never
// reaches the caller; a call that could not get the lock in time fails
// wrapping ctx.Err(). The package's BenchmarkWriters compares the choices.
//
// # Durability
//
// Open sets synchronous=NORMAL by default, the setting SQLite recommends with
// WAL: a commit is written to the log at once and synced at checkpoints. An
// acknowledged save survives the process being killed (the log is in the
// operating system's cache; the package's tests kill a process mid-save with
// SIGKILL and find every save it acknowledged, with either setting), but
// the last commits before an operating system crash or a power loss may be
// lost; the database is never corrupted. Options.Synchronous =
// SynchronousFull syncs the log at every commit and keeps those too, at the
// cost of an fsync per write: measured here, a save took 0.13 ms with NORMAL
// and 2.3 ms with FULL (BenchmarkSynchronous). For sessions, losing the last
// moments of writes to a power loss costs some users a login; choose FULL
// when it costs more.
//
// # Size
//
// Data is limited to Options.MaxDataSize (default 4 MiB, at most
// MaxMaxDataSize, which SQLite's default SQLITE_MAX_LENGTH of 10^9 bytes per
// row allows). Larger data fails with an error wrapping
// sessionstore.ErrTooLarge before anything is written, as does a value an
// SQLite built with a lower limit refuses (SQLITE_TOOBIG).
//
// # Errors and cancellation
//
// Errors name the operation and wrap the cause ("sqlite: load: ..."), so
// errors.Is finds sessionstore.ErrTooLarge, sessionstore.ErrInvalidID (both
// reported before anything is written), *sqlite.Error, ctx.Err() when the
// context ended (a running statement is interrupted), and
// sessionstore.ErrClosed after Close of a store from Open.
//
// # When to choose SQLite
//
// Choose it for an application that runs as one process on one server (or
// several processes on one machine sharing the file) and wants sessions that
// survive restarts without running a database server: the demo, a small app,
// an appliance. Reads run in parallel; writes are one at a time for the
// whole file, each a commit appended to the log (about 0.15 ms here; an
// fsync more with SynchronousFull). The file must be on a local disk:
// SQLite's locks do not work over network file systems, so several servers
// cannot share it; choose PostgreSQL, MySQL or Redis for that.
package sqlite
