package memcache

// Key returns the memcached key of id, for tests that look at the servers.
func (s *Store) Key(id string) string { return s.key(id) }

// ServerExpiry exports serverExpiry for its unit test.
var ServerExpiry = serverExpiry
