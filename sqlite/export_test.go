package sqlite

// CleanupDone exposes the channel closed when the cleanup goroutine of s has
// returned (nil when s runs none), so tests can prove Close leaves no
// goroutine behind.
func CleanupDone(s *Store) <-chan struct{} { return s.cleanupDone }

// LockRetries returns how many statements s ran again because the database
// was locked.
func LockRetries(s *Store) int64 { return s.lockRetries.Load() }

// WithoutWriterTurns lets every write of s run at once, as though the store
// did not take turns, for the benchmark comparing the two.
func WithoutWriterTurns(s *Store) { s.writer = make(chan struct{}, 1<<20) }
