// Package postgres is a sessionstore.Store that keeps sessions in a
// PostgreSQL table, through a *pgxpool.Pool the application already
// configured (github.com/jackc/pgx/v5). The store opens no connection of its
// own and never closes the pool.
//
// Besides Load, Save and Delete, a [Store] implements every optional
// capability: Touch (one UPDATE of the expiry), versioned Load with
// CompareAndSwap (a version column, one statement), Iterate, Count and Close.
// Load, Save, Delete and Touch are each one statement in one round trip: no
// transaction per call, and pgx caches the prepared statements per connection.
//
// # Schema
//
// [Store.CreateTable] creates the table and its index if they are missing. It
// is idempotent and safe to run from several processes at once (it takes a
// transaction-scoped advisory lock, so two concurrent CREATE TABLE IF NOT
// EXISTS cannot collide). For the default table it runs:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//	    id      bytea       PRIMARY KEY,
//	    data    bytea       NOT NULL,
//	    expiry  timestamptz NOT NULL,
//	    version bigint      NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "sessions" (expiry);
//
// The id is bytea, not text, because a session id may be any bytes (NUL and
// invalid UTF-8 included), which a text column rejects. The primary key
// serves every lookup; the expiry index serves the cleanup and Count. The
// version is a random non-zero number drawn at every write, so a session
// deleted and created again never repeats a version someone still holds.
//
// # Running migrations yourself
//
// Applications that manage their schema with a migration tool put the SQL
// above in a migration (with their own table name) and never call
// CreateTable; [Store.Schema] prints the exact SQL for a configured table.
// Options.Table may name a schema ("app.sessions"); the schema must exist.
// Names are quoted, hence case-sensitive.
//
// # Expiry and cleanup
//
// Expiry is decided by the application's clock: every statement compares
// the expiry column with a time the store passes as a parameter, never with
// the server's now(). A row past its expiry is never returned, whether or not
// it has been deleted yet.
//
// Expired rows are deleted by a background goroutine every
// Options.CleanupInterval (default 5 minutes), in batches of
// Options.CleanupBatchSize rows (default 1000) repeated until a batch comes
// back short. Each batch is its own short statement that skips rows a
// request is writing (FOR UPDATE SKIP LOCKED), so the cleanup never holds a
// long lock or blocks a writer. Its errors are logged with log/slog
// (Options.Logger). [Store.Close] stops it and waits for it. With many
// processes sharing one table, every process cleans up; that is harmless,
// but a negative CleanupInterval disables the goroutine and
// [Store.DeleteExpired] can be called from one job instead.
//
// # Errors and cancellation
//
// Errors name the operation and wrap the cause ("postgres: load: ..."), so
// errors.Is finds sessionstore.ErrTooLarge, sessionstore.ErrInvalidID
// (both reported before anything is sent), *pgconn.PgError, and ctx.Err()
// when the context ended. A call whose context ends returns at once, but with
// pgx's default settings the server is not told: a write it already received
// may still complete. To have PostgreSQL cancel the statement too, configure
// the pool with pgconn.CancelRequestContextWatcherHandler
// (pgconn.Config.BuildContextWatcherHandler). When the server goes away,
// calls fail until it is back; the pool reconnects by itself and the Store
// needs no restart.
//
// # When to choose PostgreSQL
//
// Choose it when the application already runs PostgreSQL and wants sessions
// that survive restarts, are backed up with the rest of its data and can be
// listed, counted and revoked with SQL, with no other server to operate.
// Each Load and Save is one indexed round trip; every Save writes a row
// version that vacuum must later reclaim, so at very high write rates (many
// thousands of session writes a second) a dedicated cache such as Redis costs
// the database less. Data is limited to Options.MaxDataSize (default 4 MiB).
package postgres
