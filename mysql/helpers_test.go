package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/mysql"
)

// tableSeq makes table names unique within the test binary; the time part
// keeps two runs against one server apart.
var tableSeq atomic.Int64

// newTableName returns a table name no other test uses.
func newTableName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano()%1e9, tableSeq.Add(1))
}

// newStore returns a Store over its own new table, created with CreateTable,
// and closes it and drops the table when the test ends.
func newStore(t testing.TB, db *sql.DB, opts mysql.Options) *mysql.Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = newTableName("sessions")
	}
	if opts.CleanupInterval == 0 {
		opts.CleanupInterval = -1 // tests that want the cleanup ask for it
	}
	s, err := mysql.New(db, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		dropTable(t, db, opts.Table)
	})
	return s
}

// quote quotes table (database.table or table) the way the store does.
func quote(table string) string {
	parts := strings.Split(table, ".")
	for i, p := range parts {
		parts[i] = "`" + strings.ReplaceAll(p, "`", "``") + "`"
	}
	return strings.Join(parts, ".")
}

// dropTable drops table if it exists.
func dropTable(t testing.TB, db *sql.DB, table string) {
	t.Helper()
	q := "DROP TABLE IF EXISTS " + quote(table)
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Errorf("%s: %v", q, err)
	}
}

// insertRaw writes a row straight into table, bypassing the store: the only
// way to leave an expired row behind, as a cleanup that has not run yet would.
func insertRaw(t testing.TB, db *sql.DB, table, id string, expiry time.Time) {
	t.Helper()
	_, err := db.ExecContext(context.Background(),
		"INSERT INTO "+quote(table)+" (id, data, expiry, version) VALUES (?, 'raw', ?, 42)", []byte(id), expiry.UnixNano())
	if err != nil {
		t.Fatalf("insert raw row: %v", err)
	}
}

// rawCount counts every row of table, expired or not.
func rawCount(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+quote(table)).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}
