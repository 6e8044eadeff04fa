package sqlite

// CleanupDone exposes the channel closed when the cleanup goroutine of s has
// returned (nil when s runs none), so tests can prove Close leaves no
// goroutine behind.
func CleanupDone(s *Store) <-chan struct{} { return s.cleanupDone }
