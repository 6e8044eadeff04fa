package sessionstore

import "time"

// SetClock replaces the clock of m, for tests that move time.
func SetClock(m *Manager, now func() time.Time) { m.now = now }

// HashID exposes the id hashing, so tests can find a session's record.
var HashID = hashID

// IsForward reports whether stored bytes are the forward a renewal leaves
// under the old id, rather than a session.
func IsForward(data []byte) bool { _, ok := forwardOf(data); return ok }
