package faults_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// lossyStore wraps a versioned store and, when armed, loses the answer of
// its next CompareAndSwap: the command reaches the server and runs there,
// then the link resets the connection as the answer comes back. From then on
// the driver's new connections bypass the link, so a driver that retries
// the command gets an answer: whatever the server says to running the same
// swap twice.
type lossyStore struct {
	sessionstore.Store
	sw     sessionstore.Swapper
	link   *link
	armed  atomic.Bool // the next swap loses its answer
	bypass atomic.Bool // new connections go straight to the server
}

func (s *lossyStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	if !s.armed.CompareAndSwap(true, false) {
		return s.sw.CompareAndSwap(ctx, id, version, data, expiry)
	}
	s.link.add(nil, toxic{Type: "reset_peer", Stream: "downstream", Attrs: map[string]int{"timeout": 0}})
	s.bypass.Store(true)
	defer s.link.heal()
	return s.sw.CompareAndSwap(ctx, id, version, data, expiry)
}

// A CompareAndSwap whose answer is lost in transit never makes the Manager
// apply a change twice, nor report a write that did not happen: after one
// increment that went through and one whose swap ran on the server but whose
// answer was lost, the counter is 2 whether the second request was answered
// 200 or an error: an error with the counter at 2 is allowed (the write
// happened, the answer did not come back), a 200 with the counter at 3 is not.
func TestLostSwapAnswer(t *testing.T) {
	// In parallel with the other tests of this package but TestFlakyLinks,
	// which counts the goroutines of the process alone, before them.
	t.Parallel()
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			upstream, _ := tg.server(t)
			l := newLink(t, upstream)
			var ls *lossyStore
			dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				if ls != nil && ls.bypass.Load() {
					return d.DialContext(ctx, network, upstream)
				}
				return d.DialContext(ctx, network, l.addr)
			}
			st, closeStore := tg.open(t, l.addr, dial, unique("app"), 1)
			defer closeStore()
			ls = &lossyStore{Store: st, sw: st.(sessionstore.Swapper), link: l}
			a := newApp(t, ls, linkDeadline)
			defer a.close()

			cookie := a.seed(t)
			// One increment first, so that the armed swap is the one
			// command its request sends to the server for the first time:
			// Redis has the script and PostgreSQL the prepared statement.
			if rp := a.get("/inc", cookie); !rp.ok() {
				t.Fatalf("warming up: %d %q %v", rp.status, rp.body, rp.err)
			}
			ls.armed.Store(true)
			rp := a.get("/inc", cookie)
			if ls.armed.Load() {
				t.Fatal("the request made no CompareAndSwap")
			}
			a.waitIdle(t, linkDeadline+linkSlack)
			n := a.counter(t, cookie)
			t.Logf("answer %d %q %v; counter %d", rp.status, rp.body, rp.err, n)
			switch {
			case rp.ok() && n != 2:
				t.Errorf("the increment was answered 200 and the counter is %d, want 2", n)
			case !rp.ok() && (n < 1 || n > 2):
				t.Errorf("the increment failed (%d %q) and the counter is %d, want 1 or 2", rp.status, rp.body, n)
			}
		})
	}
}
