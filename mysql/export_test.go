package mysql

import (
	"context"
	"database/sql"
)

// CleanupDone exposes the channel closed when the cleanup goroutine of s has
// returned (nil when s runs none), so tests can prove Close leaves no
// goroutine behind.
func CleanupDone(s *Store) <-chan struct{} { return s.cleanupDone }

// BeginCleanupBatch runs one cleanup batch of s with its DELETE in a
// transaction of the server's default isolation, and returns that
// transaction open with the rows the batch deleted, so that a test can see
// what the batch's locks block.
func BeginCleanupBatch(ctx context.Context, s *Store) (*sql.Tx, int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	_, n, err := s.deleteBatch(ctx, tx)
	if err != nil {
		tx.Rollback()
		return nil, 0, err
	}
	return tx, n, nil
}
