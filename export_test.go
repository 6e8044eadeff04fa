package sessionstore

import "time"

// SetClock replaces the clock of m, for tests that move time.
func SetClock(m *Manager, now func() time.Time) { m.now = now }

// HashID exposes the id hashing, so tests can find a session's record.
var HashID = hashID

// IsForward reports whether stored bytes are the forward a renewal leaves
// under the old id, rather than a session.
func IsForward(data []byte) bool { _, ok := forwardOf(data); return ok }

// Queued returns how many saves of the session stored under key wait in
// m's commit queue.
func Queued(m *Manager, key string) int {
	m.commits.mu.Lock()
	defer m.commits.mu.Unlock()
	if q := m.commits.byKey[key]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// OwnerKey exposes the store key of an owner's index.
var OwnerKey = ownerKey
