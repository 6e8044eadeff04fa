package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/redis"
)

const (
	// faultDeadline is the context deadline of each request in fault tests.
	faultDeadline = time.Second
	// faultSlack is how long past its deadline a call may take to return.
	faultSlack = 500 * time.Millisecond
)

// faultOps are the calls a fault test keeps making, each reporting whether
// it claimed to find something.
func faultOps(s *redis.Store) []func(ctx context.Context, id string) (bool, error) {
	return []func(ctx context.Context, id string) (bool, error){
		func(ctx context.Context, id string) (bool, error) {
			return false, s.Save(ctx, id, []byte("data"), time.Now().Add(time.Hour))
		},
		func(ctx context.Context, id string) (bool, error) {
			_, found, err := s.Load(ctx, id)
			return found, err
		},
		func(ctx context.Context, id string) (bool, error) {
			return s.Touch(ctx, id, time.Now().Add(time.Hour))
		},
		func(ctx context.Context, id string) (bool, error) {
			rec, _, err := s.Load(ctx, id)
			if err != nil {
				return false, err
			}
			return s.CompareAndSwap(ctx, id, rec.Version, []byte("swapped"), time.Now().Add(time.Hour))
		},
		func(ctx context.Context, id string) (bool, error) {
			n, err := s.Count(ctx)
			return n > 0, err
		},
	}
}

// result is one call made during a fault.
type result struct {
	afterFault bool // the call started after the fault was in place
	elapsed    time.Duration
	claimed    bool
	err        error
}

// runDuringFault keeps calling every op from several goroutines while
// fault() puts a fault in place, until each goroutine has made
// callsAfterFault calls that started after fault returned. It returns every
// call's result.
func runDuringFault(t *testing.T, s *redis.Store, fault func()) []result {
	t.Helper()
	const workers, callsAfterFault = 4, 3
	var (
		mu      sync.Mutex
		results []result
		faulted atomic.Bool
		warm    sync.WaitGroup // each worker made a call before the fault
		wg      sync.WaitGroup
	)
	warm.Add(workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("fault-", w)
			after, warmed := 0, false
			for i := 0; after < callsAfterFault; i++ {
				op := faultOps(s)[i%len(faultOps(s))]
				isAfter := faulted.Load()
				ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
				start := time.Now()
				claimed, err := op(ctx, id)
				r := result{isAfter, time.Since(start), claimed, err}
				cancel()
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if isAfter {
					after++
				}
				if !warmed {
					warmed = true
					warm.Done()
				}
			}
		}()
	}
	warm.Wait()
	fault()
	faulted.Store(true)
	wg.Wait()
	return results
}

// checkFaultResults checks that every call returned within its deadline,
// and that every call started after the fault failed with a descriptive,
// wrapped error and claimed nothing.
func checkFaultResults(t *testing.T, results []result, wantErr func(error) bool) {
	t.Helper()
	after := 0
	for _, r := range results {
		if r.elapsed > faultDeadline+faultSlack {
			t.Errorf("a call took %v, past its %v deadline (err: %v)", r.elapsed, faultDeadline, r.err)
		}
		if !r.afterFault {
			continue
		}
		after++
		switch {
		case r.err == nil:
			t.Errorf("a call during the fault succeeded (claimed %v)", r.claimed)
		case r.claimed:
			t.Errorf("a failed call claimed to find or write: %v", r.err)
		case !strings.HasPrefix(r.err.Error(), "redis: "):
			t.Errorf("error %q does not name the store and operation", r.err)
		case errors.Unwrap(r.err) == nil && !isMultiWrap(r.err):
			t.Errorf("error %q wraps no cause", r.err)
		case !wantErr(r.err):
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if after == 0 {
		t.Fatal("no call was made during the fault")
	}
	t.Logf("%d calls during the fault, the last failing with: %v", after, results[len(results)-1].err)
}

func isMultiWrap(err error) bool {
	u, ok := err.(interface{ Unwrap() []error })
	return ok && len(u.Unwrap()) > 0
}

// waitWorking calls Save and Load on s until both succeed, and fails the test
// if they do not within limit: the same Store must recover by itself.
func waitWorking(t *testing.T, s *redis.Store, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
		err = s.Save(ctx, "recovered", []byte("yes"), time.Now().Add(time.Hour))
		if err == nil {
			var rec sessionstore.Record
			var found bool
			rec, found, err = s.Load(ctx, "recovered")
			if err == nil && (!found || string(rec.Data) != "yes") {
				t.Fatalf("after recovery Load = %+v, %v", rec, found)
			}
		}
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the store did not recover within %v: %v", limit, err)
	}
	for i, op := range faultOps(s) {
		if _, err := op(context.Background(), "after-recovery"); err != nil {
			t.Errorf("op %d after recovery: %v", i, err)
		}
	}
}

// TestFaultServerStopped stops the server while requests run, then starts
// it again and checks that the same Store works.
func TestFaultServerStopped(t *testing.T) {
	t.Parallel()
	client, srv := newClient(t, testservers.Dedicated())
	s := newStore(t, client, redis.Options{})
	results := runDuringFault(t, s, func() { srv.Stop(t) })
	// A stopped server refuses connections: calls fail fast, with the dial
	// error (or the deadline, if retries outlast it).
	checkFaultResults(t, results, func(err error) bool { return true })
	srv.Start(t)
	waitWorking(t, s, 20*time.Second)
}

// TestFaultServerPaused pauses the server (it hangs, refusing nothing) while
// requests run, then unpauses it and checks that the same Store works.
func TestFaultServerPaused(t *testing.T) {
	t.Parallel()
	client, srv := newClient(t, testservers.Dedicated())
	s := newStore(t, client, redis.Options{})
	results := runDuringFault(t, s, func() { srv.Pause(t) })
	// A paused server accepts connections and never answers: only the
	// context ends the calls.
	checkFaultResults(t, results, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
	srv.Unpause(t)
	waitWorking(t, s, 20*time.Second)
}
