package memory

// Held returns the number of records the store holds, expired ones not yet
// removed included, so tests can watch cleanup work.
func (s *Store) Held() int64 { return s.tab.count.Load() }

// Limits returns the cap on sessions (-1: none) and the maximum data size
// New derived from the Options.
func (s *Store) Limits() (maxSessions int64, maxDataSize int) {
	return s.tab.maxSessions, s.maxDataSize
}
