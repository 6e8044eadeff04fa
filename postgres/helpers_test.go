package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionstore/sessionstore/postgres"
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
func newStore(t testing.TB, pool *pgxpool.Pool, opts postgres.Options) *postgres.Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = newTableName("sessions")
	}
	if opts.CleanupInterval == 0 {
		opts.CleanupInterval = -1 // tests that want the cleanup ask for it
	}
	s, err := postgres.New(pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		dropTable(t, pool, opts.Table)
	})
	return s
}

// dropTable drops table (schema.table or table) if it exists.
func dropTable(t testing.TB, pool *pgxpool.Pool, table string) {
	t.Helper()
	sql := "DROP TABLE IF EXISTS " + pgx.Identifier(strings.Split(table, ".")).Sanitize()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Errorf("%s: %v", sql, err)
	}
}

// quote quotes table the way the store does.
func quote(table string) string {
	return pgx.Identifier(strings.Split(table, ".")).Sanitize()
}

// insertRaw writes a row straight into table, bypassing the store: the only
// way to leave an expired row behind, as a cleanup that has not run yet would.
func insertRaw(t testing.TB, pool *pgxpool.Pool, table, id string, expiry time.Time) {
	t.Helper()
	_, err := pool.Exec(context.Background(),
		"INSERT INTO "+quote(table)+" (id, data, expiry, version) VALUES ($1, 'raw', $2, 42)", []byte(id), expiry)
	if err != nil {
		t.Fatalf("insert raw row: %v", err)
	}
}

// rawCount counts every row of table, expired or not.
func rawCount(t testing.TB, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+quote(table)).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// sqlKey carries a statement from TraceQueryStart to TraceQueryEnd.
type sqlKey struct{}

// tracer records the statements a pool runs.
type tracer struct {
	mu    sync.Mutex
	sqls  []string
	ended chan string // each finished statement, if anyone listens
}

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	tr.mu.Lock()
	tr.sqls = append(tr.sqls, data.SQL)
	tr.mu.Unlock()
	return context.WithValue(ctx, sqlKey{}, data.SQL)
}

func (tr *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if tr.ended == nil {
		return
	}
	sql, _ := ctx.Value(sqlKey{}).(string)
	select {
	case tr.ended <- sql:
	default:
	}
}

// reset forgets the statements seen so far.
func (tr *tracer) reset() {
	tr.mu.Lock()
	tr.sqls = nil
	tr.mu.Unlock()
}

// statements returns the statements seen since the last reset.
func (tr *tracer) statements() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.sqls...)
}

// tracedPool returns a new pool to the server of pool that reports every
// statement to tr, closed when the test ends.
func tracedPool(t testing.TB, pool *pgxpool.Pool, tr *tracer, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg := pool.Config()
	cfg.ConnConfig.Tracer = tr
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("new pool: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}
