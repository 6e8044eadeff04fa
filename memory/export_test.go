package memory

import "unsafe"

// Held returns the number of records the store holds, expired ones not yet
// removed included, so tests can watch cleanup work.
func (s *Store) Held() int64 { return s.count.Load() }

// Limits returns the cap on sessions (-1: none) and the maximum data size
// New derived from the Options.
func (s *Store) Limits() (maxSessions int64, maxDataSize int) {
	if s.maxSessions < 0 {
		return -1, s.maxDataSize
	}
	return s.maxSessions, s.maxDataSize
}

// ShardLens returns the number of records each shard holds.
func (s *Store) ShardLens() []int {
	var lens []int
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		lens = append(lens, len(sh.records))
		sh.mu.Unlock()
	}
	return lens
}

// ShardSize is the size of a shard in bytes, which its padding makes 64
// (a cache line) so that no two shards share a line.
const ShardSize = unsafe.Sizeof(shard{})
