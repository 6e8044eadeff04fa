// Package testservers starts the real database servers that backend tests run against, in
// containers, with testcontainers-go.
//
// The service packages (pgtest, redistest, mongotest, memcachetest) return a ready driver
// client; this package holds what they share: the Docker engine check, image selection, the
// container life cycle, readiness through the real driver, and the fault controls a test
// uses to stop, start or pause its own server.
//
// A test binary using these packages must route its TestMain through Main:
//
//	func TestMain(m *testing.M) { testservers.Main(m) }
//
// Containers are shared: the first test that asks for a service starts its container and
// every later test of the same binary reuses it, isolating itself by key prefix, table or
// database. Main terminates them after the tests, which is what leaves nothing running when
// testcontainers' reaper (Ryuk) is disabled. A binary killed before Main returns leaves them
// running; each container is labelled with its owner (see LabelPID), and scripts/test removes
// the containers of owners that are gone, never those of a run still going. A test that stops
// or pauses a server asks for a container of its own with Dedicated.
//
// Without a Docker engine the tests skip with one line saying how to run them, and fail
// instead when CI=true. An environment variable holding a server's URL (SESSIONSTORE_*_URL,
// see the service packages) points the tests at that server and starts no container.
package testservers

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Timeouts bounding the work done on a test's behalf.
const (
	engineCheckTimeout = 5 * time.Second  // is a Docker engine there at all?
	pullTimeout        = 10 * time.Minute // one image download, when the image is missing
	startTimeout       = 2 * time.Minute  // create, start and first answer of one container
	pingTimeout        = 2 * time.Second  // one readiness probe through the driver
	stopTimeout        = 10 * time.Second // docker stop before the engine kills the server
	terminateTimeout   = 30 * time.Second // removing the binary's containers in Main
)

// registry is the state of one test binary: its engine connection and its shared containers.
// It is package state because TestMain, not any one test, owns the shared containers' lives.
var registry struct {
	mu      sync.Mutex
	active  bool                  // Main is running the tests
	shared  map[string]*sharedRun // by key: started once, reused by every test
	started []testcontainers.Container
}

// sharedRun is one lazily started shared value; done closes when start has returned.
type sharedRun struct {
	done    chan struct{}
	servers []*Server
	err     error
}

// Main runs the tests of m and then terminates every shared container they started, and
// exits with the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	registry.mu.Lock()
	registry.active = true
	registry.shared = make(map[string]*sharedRun)
	registry.mu.Unlock()

	code := m.Run()

	registry.mu.Lock()
	registry.active = false
	started := registry.started
	registry.started, registry.shared = nil, nil
	registry.mu.Unlock()

	if err := terminateAll(started); err != nil {
		fmt.Fprintln(os.Stderr, "testservers:", err)
		if code == 0 {
			code = 1
		}
	}
	closeEngine()
	os.Exit(code)
}

// Option changes how a service package provides its server.
type Option func(*options)

type options struct {
	dedicated bool
}

// Dedicated gives the test a container of its own, published on a fixed free host port so
// that Server.Stop and Server.Start keep its address (a restarted container otherwise comes
// back on another port). It is terminated when the test ends. Use it for fault tests; it
// costs a container start (about a second).
func Dedicated() Option {
	return func(o *options) { o.dedicated = true }
}

// Start returns a running, ready server of spec: the binary's shared one, or with
// Dedicated a new one for this test. It skips or fails the test as described in the package
// documentation when there is no Docker engine.
func Start(t testing.TB, spec *Spec, opts ...Option) *Server {
	t.Helper()
	return StartGroup(t, spec, 1, nil, opts...)[0]
}

// StartGroup returns n distinct running servers of spec (a cluster's nodes), shared by the
// binary unless Dedicated is given. setup, when not nil, runs once after they are ready, to
// join them together; the group is usable only if it succeeded.
func StartGroup(t testing.TB, spec *Spec, n int, setup func(ctx context.Context, servers []*Server) error, opts ...Option) []*Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	requireEngine(t, spec)

	if o.dedicated {
		servers, err := launchGroup(context.Background(), spec, n, setup, true)
		if err != nil {
			t.Fatalf("testservers: %v", err)
		}
		t.Cleanup(func() {
			if err := terminateServers(servers); err != nil {
				t.Errorf("testservers: %v", err)
			}
		})
		return servers
	}

	key := spec.Name
	if n > 1 {
		key = fmt.Sprintf("%s/%d", spec.Name, n)
	}
	servers, err := shared(key, func() ([]*Server, error) {
		return launchGroup(context.Background(), spec, n, setup, false)
	})
	if err != nil {
		t.Fatalf("testservers: %v", err)
	}
	return servers
}

// shared runs start once per key for the whole binary; concurrent callers wait for it. A
// failure is remembered, so that every test asking for that service fails at once with the
// same error rather than each retrying a slow start.
func shared(key string, start func() ([]*Server, error)) ([]*Server, error) {
	registry.mu.Lock()
	if !registry.active {
		registry.mu.Unlock()
		return nil, fmt.Errorf("shared %s server requested outside testservers.Main: "+
			"add func TestMain(m *testing.M) { testservers.Main(m) } to the package's tests, "+
			"which terminates shared containers after the tests", key)
	}
	run, ok := registry.shared[key]
	if !ok {
		run = &sharedRun{done: make(chan struct{})}
		registry.shared[key] = run
	}
	registry.mu.Unlock()

	if !ok {
		func() {
			// If start panics, the other tests get this error instead of hanging.
			defer close(run.done)
			run.err = fmt.Errorf("starting the shared %s server panicked", key)
			run.servers, run.err = start()
		}()
	}
	<-run.done
	return run.servers, run.err
}

// track records a shared container for Main to terminate. A container created after Main
// stopped tracking (a leaked goroutine of a finished test) is terminated at once.
func track(c testcontainers.Container) error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if !registry.active {
		return terminateAll([]testcontainers.Container{c})
	}
	registry.started = append(registry.started, c)
	return nil
}

// inCI reports whether the CI variable says this is a CI run, where a missing Docker engine
// must fail the build rather than skip the tests that need it.
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}
