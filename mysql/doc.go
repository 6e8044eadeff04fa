// Package mysql is a sessionstore.Store that keeps sessions in a MySQL or
// MariaDB table, through a *sql.DB the application already opened with
// github.com/go-sql-driver/mysql. The store opens no connection of its own
// and never closes the *sql.DB; any DSN settings work (interpolateParams,
// clientFoundRows, parseTime, a time zone: none changes what it stores).
//
// Besides Load, Save and Delete, a [Store] implements every optional
// capability: Touch (one UPDATE of the expiry), versioned Load with
// CompareAndSwap (a version column), Iterate, Count and Close. Load, Save,
// Delete and Touch are each one statement in one round trip: no transaction
// per call, and the store prepares its statements once, which database/sql
// then keeps prepared on each connection (with the driver's defaults an
// unprepared statement with arguments costs a prepare, an execute and a
// close).
//
// # Schema
//
// [Store.CreateTable] creates the table and its index if they are missing.
// It is idempotent and safe to run from several processes at once. For the
// default table it runs:
//
//	CREATE TABLE IF NOT EXISTS `sessions` (
//	    id      VARBINARY(256)  NOT NULL,
//	    data    LONGBLOB        NOT NULL,
//	    expiry  BIGINT          NOT NULL,
//	    version BIGINT UNSIGNED NOT NULL,
//	    PRIMARY KEY (id),
//	    INDEX expiry_idx (expiry)
//	) ENGINE=InnoDB;
//
// The id is VARBINARY, not VARCHAR, because a session id may be any bytes
// (NUL and invalid UTF-8 included), and binary strings compare byte for
// byte: no collation folds case or ignores trailing spaces, so two ids never
// share a row. A 256-byte key fits InnoDB's index limit (767 bytes in the
// old row formats, 3072 in the DYNAMIC default), so the id itself is the
// primary key, with no hash column. The expiry is in Unix nanoseconds, from
// the application's clock, so it round-trips exactly and no time zone of
// the server or the connection can move it. The version is a random
// non-zero 64-bit number drawn at every write, so a session deleted and
// created again, by any process, never repeats a version someone still
// holds; a counter would have to outlive the row (a sequence table, a
// second statement per write) to promise as much. LONGBLOB holds what
// max_allowed_packet lets through (see Sizes below).
//
// # Running migrations yourself
//
// Applications that manage their schema with a migration tool put the SQL
// above in a migration (with their own table name) and never call
// CreateTable; [Store.Schema] prints the exact SQL for a configured table.
// Options.Table may name a database ("app.sessions"); the database must
// exist. Names are quoted, hence used as given; they are case-sensitive on
// servers with lower_case_table_names=0, the default on Linux.
//
// # Expiry and cleanup
//
// Expiry is decided by the application's clock (Options.Now): every
// statement compares the expiry column with a time the store passes as a
// parameter, never with the server's NOW(). A row past its expiry is never
// returned, whether or not it has been deleted yet.
//
// Expired rows are deleted by a background goroutine every
// Options.CleanupInterval (default 5 minutes), in batches of
// Options.CleanupBatchSize rows (default 1000) repeated until a batch comes
// back short. A batch reads the ids of the oldest expired rows without
// taking a lock, then deletes those rows by primary key, each checked again
// under its row lock: it locks nothing but expired rows, so requests writing
// live sessions, and new sessions, never wait for it. (A plain DELETE ...
// WHERE expiry <= ? LIMIT n would lock the expiry index up to the first live
// entry under the default REPEATABLE READ, stalling the writers of the
// session expiring first and of new sessions expiring before it, and
// deadlocking with them.) Its errors are logged with log/slog
// (Options.Logger).
// [Store.Close] stops it and waits for it. With many processes sharing one
// table, every process cleans up; that is harmless, but a negative
// CleanupInterval disables the goroutine and [Store.DeleteExpired] can be
// called from one job instead.
//
// # Sizes
//
// Data is limited to Options.MaxDataSize (default 4 MiB), and never more
// than the server's max_allowed_packet less [PacketOverhead] (1 KiB): a row
// larger than a packet can be neither written nor read back. The store reads
// max_allowed_packet once, on its first Save or CompareAndSwap (one round
// trip, once), and [Store.MaxDataSize] reports the resulting limit. Larger
// data fails with an error wrapping sessionstore.ErrTooLarge before it is
// sent; should max_allowed_packet be lowered later, the server's refusal is
// reported as ErrTooLarge too, and the stored record stays intact. The
// default max_allowed_packet is 16 MiB on MariaDB 10.2 and later, 64 MiB on
// MySQL 8.0 and 4 MiB on MySQL 5.7.
//
// # Compare-and-swap
//
// A CompareAndSwap with a version is one UPDATE (or DELETE, for an expiry in
// the past) filtered on the id, the version and the expiry; InnoDB's row
// lock makes exactly one of many racing callers win. A version-0
// CompareAndSwap, which creates a session, is one INSERT when the id is
// free; only when a row already holds the id does it take an UPDATE that
// replaces the row if it has expired and, when that finds nothing expired,
// a SELECT that tells a live row (the swap lost) from one deleted meanwhile
// (the INSERT is tried again). No outcome rests on the count of an UPDATE
// that changed nothing, which the driver's clientFoundRows setting would
// change; for the same reason a Touch that keeps the expiry it finds gives
// the record a new version.
//
// A statement InnoDB rolls back as the victim of a deadlock (error 1213)
// changed nothing and is run again, after a short random pause, up to 20
// times and never past its context. Two writers of one id can deadlock in
// InnoDB's duplicate-key check, which takes a shared lock on the row before
// the exclusive one the write needs.
//
// # Errors and cancellation
//
// Errors name the operation and wrap the cause ("mysql: load: ..."), so
// errors.Is finds sessionstore.ErrTooLarge, sessionstore.ErrInvalidID
// (both reported before anything is sent), *mysql.MySQLError, and ctx.Err()
// when the context ended. A call whose context ends returns at once: the
// driver closes the connection, but the server is not told, and a write it
// already received may still complete. When the server goes away, calls fail
// until it is back; database/sql reconnects by itself and the Store needs no
// restart.
//
// # When to choose MySQL or MariaDB
//
// Choose it when the application already runs MySQL or MariaDB and wants
// sessions that survive restarts, are backed up with the rest of its data and
// can be listed, counted and revoked with SQL, with no other server to
// operate. Each Load and Save is one indexed round trip. Tested against
// MariaDB 10.11 (Debian's package); the official mariadb:11 and mysql:8
// images run the same tests where a registry serves them.
package mysql
