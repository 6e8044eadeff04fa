package sessionstore

import (
	"fmt"
	"sync"
	"testing"
)

// TestKeyCache: the cache gives hashID's key for every id, whether it
// remembers the id, another id took its slot, or many goroutines ask at
// once; and a remembered id is answered without hashing again.
func TestKeyCache(t *testing.T) {
	var c keyCache
	ids := make([]string, 3*keyCacheSlots) // more ids than slots: slots are shared
	for i := range ids {
		ids[i] = fmt.Sprintf("%043d", i)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 2 {
				for i := g; i < len(ids); i += 2 {
					if got, want := c.key(ids[i]), hashID(ids[i]); got != want {
						t.Errorf("round %d: key(%q) = %q; want %q", round, ids[i], got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	id := "a-returning-visitor-00000000000000000000000"
	first := c.key(id)
	if again := c.key(id); again != first || !sameString(again, first) {
		t.Error("a remembered id was hashed again: the cache does not answer")
	}
}

// sameString reports whether a and b are the same memory, not only equal.
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || &bytesOf(a)[0] == &bytesOf(b)[0])
}
