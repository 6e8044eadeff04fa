package faults_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"
)

// Through a link that turns slow or flaky, under steady traffic of counter
// increments, every backend must keep these promises:
//
//   - every request ends within its deadline (plus scheduling slack);
//   - once the link heals, the same application serves again by itself;
//   - nothing acknowledged is lost and nothing is applied twice: for every
//     session, acked <= stored counter <= acked + failed, where acked counts
//     the increments answered 200 and failed the ones answered with an error
//     (a failed save may still have been written: its answer can be lost on
//     the way back, and the Manager cannot tell);
//   - no connection is left behind: once healed, the server holds no more
//     connections of the application than its pool allows;
//   - no goroutine is left behind: once the application, its clients and the
//     links are closed, the process has no more goroutines than before.

const (
	// linkDeadline is each request's server-side deadline.
	linkDeadline = 2 * time.Second
	// linkSlack is how far past its deadline a request may end: scheduling
	// on a loaded 2-core machine, the race detector, writing the answer.
	linkSlack = time.Second
	// linkPool is the application's connection pool size.
	linkPool = 8
	// linkWorkers send requests at once, each alternating between a session
	// of its own and one they all share; linkRequests is how many each
	// sends during a fault.
	linkWorkers, linkRequests = 4, 3
	// recoveryLimit bounds the time from healing to the first 200.
	recoveryLimit = 20 * time.Second
)

// linkFault is a fault of the link and what it allows.
type linkFault struct {
	name  string
	toxic toxic
	// allFail says every request during the fault fails; noneFail that
	// none does; neither: some may.
	allFail, noneFail bool
}

var linkFaults = []linkFault{
	{name: "latency 50ms", toxic: toxic{Type: "latency", Stream: "downstream", Attrs: map[string]int{"latency": 50}}, noneFail: true},
	{name: "latency 500ms", toxic: toxic{Type: "latency", Stream: "downstream", Attrs: map[string]int{"latency": 500}}},
	// Half the connections are reset the moment the server answers: the
	// command ran, the answer is lost.
	{name: "reset mid-command", toxic: toxic{Type: "reset_peer", Stream: "downstream", Toxicity: 0.5, Attrs: map[string]int{"timeout": 0}}},
	// Connections are accepted and commands delivered; nothing comes back.
	{name: "no answer", toxic: toxic{Type: "timeout", Stream: "downstream", Attrs: map[string]int{"timeout": 0}}, allFail: true},
	// 1 KB/s: a session of more than 4 KiB takes over 4 s to load, twice
	// the deadline.
	{name: "trickle 1KB/s", toxic: toxic{Type: "bandwidth", Stream: "downstream", Attrs: map[string]int{"rate": 1}}, allFail: true},
}

// ledger counts, per session, the increments acknowledged and failed.
type ledger struct {
	mu            sync.Mutex
	acked, failed map[string]int64
}

func (l *ledger) record(cookie string, rp reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rp.ok() {
		l.acked[cookie]++
	} else {
		l.failed[cookie]++
	}
}

// linkResult is one row of what a fault did to a backend.
type linkResult struct {
	backend, fault   string
	requests, failed int
	slowest          time.Duration
	recovery         time.Duration
	ambiguous        int64 // failed increments that were written all the same
	conns            int   // server-side connections once healed, -1 unknown
}

func TestFlakyLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("injects faults for about half a minute")
	}
	ts := targets()
	type started struct {
		addr  string
		conns func(context.Context, string) (int, bool, error)
	}
	servers := make([]started, len(ts))
	for i, tg := range ts {
		servers[i].addr, servers[i].conns = tg.server(t)
	}
	before := ourGoroutines()

	var mu sync.Mutex
	var rows []linkResult
	t.Run("backends", func(t *testing.T) {
		for i, tg := range ts {
			t.Run(tg.name, func(t *testing.T) {
				t.Parallel()
				got := runLinkFaults(t, tg, servers[i].addr, servers[i].conns)
				mu.Lock()
				rows = append(rows, got...)
				mu.Unlock()
			})
		}
	})
	slices.SortStableFunc(rows, func(a, b linkResult) int {
		if a.backend != b.backend {
			return slices.Index(targetNames(), a.backend) - slices.Index(targetNames(), b.backend)
		}
		return 0
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "| backend | fault | requests | failed | slowest | recovery | failed but written | server conns after |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %v | %v | %d | %d |\n", r.backend, r.fault, r.requests, r.failed,
			r.slowest.Round(10*time.Millisecond), r.recovery.Round(time.Millisecond), r.ambiguous, r.conns)
	}
	t.Logf("results:\n%s", b.String())

	// Every link, client and application of the subtests is closed now.
	checkGoroutines(t, before)
}

func targetNames() []string {
	var names []string
	for _, tg := range targets() {
		names = append(names, tg.name)
	}
	return names
}

// checkGoroutines waits until the process has no more goroutines of its own
// than before, and fails with their stacks if it keeps more for 10 s.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ourGoroutines() > before {
		if time.Now().After(deadline) {
			var b bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines left, %d before:\n%s", ourGoroutines(), before, b.String())
		}
		time.Sleep(50 * time.Millisecond) // polling: nothing signals a goroutine's exit
	}
}

// ourGoroutines counts the goroutines of the process but Toxiproxy's: its
// bandwidth toxic can keep a goroutine of a link that closed while it was
// sending, blocked for good on a channel nobody reads. That is the test
// harness's leak, not the application's.
func ourGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if len(bytes.TrimSpace(g)) > 0 && !bytes.Contains(g, []byte("github.com/Shopify/toxiproxy")) {
			count++
		}
	}
	return count
}

func runLinkFaults(t *testing.T, tg target, upstream string, conns func(context.Context, string) (int, bool, error)) []linkResult {
	l := newLink(t, upstream)
	name := unique("app")
	st, closeStore := tg.open(t, l.addr, nil, name, linkPool)
	a := newApp(t, st, linkDeadline)
	defer func() {
		a.close()
		closeStore()
		l.proxy.Stop()
	}()

	own := make([]string, linkWorkers)
	for w := range own {
		own[w] = a.seed(t)
	}
	shared, probe := a.seed(t), a.seed(t)
	led := &ledger{acked: map[string]int64{}, failed: map[string]int64{}}

	var rows []linkResult
	for _, f := range linkFaults {
		l.add(t, f.toxic)
		var (
			rmu     sync.Mutex
			replies []reply
			wg      sync.WaitGroup
		)
		for w := range linkWorkers {
			wg.Go(func() {
				for i := range linkRequests {
					cookie := own[w]
					if (i+w)%2 == 1 {
						cookie = shared
					}
					rp := a.get("/inc", cookie)
					led.record(cookie, rp)
					rmu.Lock()
					replies = append(replies, rp)
					rmu.Unlock()
				}
			})
		}
		wg.Wait()
		l.heal()
		healed := time.Now()

		row := linkResult{backend: tg.name, fault: f.name, requests: len(replies), conns: -1}
		for _, rp := range replies {
			row.slowest = max(row.slowest, rp.took)
			if !rp.ok() {
				row.failed++
			}
			if rp.took > linkDeadline+linkSlack {
				t.Errorf("%s: a request took %v, past its %v deadline: %d %q %v", f.name, rp.took, linkDeadline, rp.status, rp.body, rp.err)
			}
			if rp.err == nil && rp.status == 200 && !rp.ok() {
				t.Errorf("%s: a save was dropped: %q", f.name, rp.body)
			}
		}
		switch {
		case f.noneFail && row.failed > 0:
			t.Errorf("%s: %d of %d requests failed, want none", f.name, row.failed, row.requests)
		case f.allFail && row.failed < row.requests:
			t.Errorf("%s: %d of %d requests failed, want all", f.name, row.failed, row.requests)
		}

		// The same application serves again by itself.
		for {
			if rp := a.get("/inc", probe); rp.ok() {
				break
			} else if time.Since(healed) > recoveryLimit {
				t.Fatalf("%s: not recovered %v after healing: %d %q %v", f.name, recoveryLimit, rp.status, rp.body, rp.err)
			}
			time.Sleep(20 * time.Millisecond) // polling the application's recovery
		}
		row.recovery = time.Since(healed)
		a.waitIdle(t, linkDeadline+linkSlack)

		// Nothing acknowledged lost, nothing applied twice.
		for _, c := range append([]string{shared}, own...) {
			n := a.counter(t, c)
			led.mu.Lock()
			acked, failed := led.acked[c], led.failed[c]
			led.mu.Unlock()
			if n < acked || n > acked+failed {
				t.Errorf("%s: a session's counter is %d after %d acknowledged and %d failed increments", f.name, n, acked, failed)
			}
			row.ambiguous += n - acked
			// What is known now: the failed increments that were written
			// count as acknowledged from here on.
			led.mu.Lock()
			led.acked[c], led.failed[c] = n, 0
			led.mu.Unlock()
		}

		// No connection left behind.
		if conns != nil {
			deadline := time.Now().Add(10 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				n, known, err := conns(ctx, name)
				cancel()
				if err != nil {
					t.Fatalf("counting server connections: %v", err)
				}
				if !known {
					break
				}
				row.conns = n
				if n <= linkPool {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: the server holds %d connections of the application, its pool %d", f.name, n, linkPool)
					break
				}
				time.Sleep(50 * time.Millisecond) // polling the server's view
			}
		}
		t.Logf("%s: %d/%d failed, slowest %v, recovered in %v, %d failed increments written, %d server connections",
			f.name, row.failed, row.requests, row.slowest, row.recovery, row.ambiguous, row.conns)
		rows = append(rows, row)
	}
	return rows
}
