package mysql

import (
	"context"
	"database/sql"
)

// CleanupDone exposes the channel closed when the cleanup goroutine of s has
// returned (nil when s runs none), so tests can prove Close leaves no
// goroutine behind.
func CleanupDone(s *Store) <-chan struct{} { return s.cleanupDone }

// BeginCleanupBatch runs one cleanup batch of s in a transaction with opts
// and returns that transaction open, with the rows it deleted, so that a
// test can see what the batch's locks block.
func BeginCleanupBatch(ctx context.Context, s *Store, opts *sql.TxOptions) (*sql.Tx, int64, error) {
	return s.deleteBatch(ctx, opts)
}

// CleanupTxOptions are the options of the cleanup's transactions.
var CleanupTxOptions = cleanupTxOptions
