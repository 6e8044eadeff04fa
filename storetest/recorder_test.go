package storetest

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a tester that records what the suite reports instead of
// reporting it, so that a test can run the suite against a broken store and
// check which subtests failed. It runs each subtest in its own goroutine, as
// testing does: FailNow ends it with runtime.Goexit, and Parallel lets Run
// return at once and resumes the subtest when its parent's function has
// returned, so that the clock checks overlap.
type recorder struct {
	// TB is the real test, for what the recorder does not record (TempDir,
	// Setenv, ...).
	testing.TB

	name   string
	parent *recorder
	log    *record

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failed   bool
	skipped  bool
	cleanups []func()

	isParallel bool
	paused     chan struct{} // closed when the subtest calls Parallel
	bodyDone   chan struct{} // closed when the subtest's function has returned
	subs       sync.WaitGroup
}

// record holds the outcome of every subtest of one run, by full name.
type record struct {
	mu    sync.Mutex
	tests map[string]*outcome
	order []string
}

type outcome struct {
	failed, skipped bool
	messages        []string
}

// runRecorded runs f as the top of a recorded run and returns what it
// reported once f and all its subtests have finished.
func runRecorded(t testing.TB, f func(t tester)) *record {
	rec := &record{tests: make(map[string]*outcome)}
	root := newRecorder(t, nil, "", rec)
	done := make(chan struct{})
	go func() {
		defer close(done)
		root.run(f)
	}()
	<-done
	return rec
}

func newRecorder(t testing.TB, parent *recorder, name string, rec *record) *recorder {
	ctx := context.Background()
	if parent != nil {
		ctx = parent.ctx
		if parent.name != "" {
			name = parent.name + "/" + name
		}
	}
	r := &recorder{TB: t, name: name, parent: parent, log: rec,
		paused: make(chan struct{}), bodyDone: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if _, dup := rec.tests[name]; dup {
		panic("recorder: two subtests named " + name)
	}
	rec.tests[name] = &outcome{}
	rec.order = append(rec.order, name)
	return r
}

// run runs f as r's function, then finishes r like testing does: wait for
// the parallel subtests, cancel the context, run the cleanups, report.
func (r *recorder) run(f func(t tester)) {
	defer r.finish()
	defer func() {
		// A panic (not runtime.Goexit, for which recover returns nil) fails
		// the subtest where testing would crash the whole binary.
		if p := recover(); p != nil {
			r.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	f(r)
}

func (r *recorder) finish() {
	close(r.bodyDone)
	r.subs.Wait()
	r.cancel()
	r.mu.Lock()
	cleanups := r.cleanups
	r.mu.Unlock()
	for _, c := range slices.Backward(cleanups) {
		r.cleanup(c)
	}
	r.mu.Lock()
	failed, skipped := r.failed, r.skipped
	r.mu.Unlock()
	r.log.mu.Lock()
	o := r.log.tests[r.name]
	o.failed, o.skipped = failed, skipped
	r.log.mu.Unlock()
	if r.parent != nil {
		if failed {
			r.parent.Fail()
		}
		if r.isParallel {
			r.parent.subs.Done()
		}
	}
}

func (r *recorder) cleanup(c func()) {
	defer func() {
		if p := recover(); p != nil {
			r.Errorf("panic in cleanup: %v", p)
		}
	}()
	c()
}

func (r *recorder) Run(name string, f func(t tester)) bool {
	sub := newRecorder(r.TB, r, name, r.log)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub.run(f)
	}()
	select {
	case <-done:
		return !sub.Failed()
	case <-sub.paused:
		return true
	}
}

func (r *recorder) Parallel() {
	r.parent.subs.Add(1)
	r.isParallel = true
	close(r.paused)
	<-r.parent.bodyDone
}

func (r *recorder) note(msg string) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	o := r.log.tests[r.name]
	o.messages = append(o.messages, msg)
}

func (r *recorder) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) FailNow() {
	r.Fail()
	runtime.Goexit()
}

func (r *recorder) Log(args ...any)                 { r.note(fmt.Sprintln(args...)) }
func (r *recorder) Logf(format string, args ...any) { r.note(fmt.Sprintf(format, args...)) }
func (r *recorder) Error(args ...any)               { r.Log(args...); r.Fail() }
func (r *recorder) Errorf(format string, args ...any) {
	r.Logf(format, args...)
	r.Fail()
}
func (r *recorder) Fatal(args ...any)                 { r.Log(args...); r.FailNow() }
func (r *recorder) Fatalf(format string, args ...any) { r.Logf(format, args...); r.FailNow() }

func (r *recorder) SkipNow() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any)                 { r.Log(args...); r.SkipNow() }
func (r *recorder) Skipf(format string, args ...any) { r.Logf(format, args...); r.SkipNow() }

func (r *recorder) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Helper()                  {}
func (r *recorder) Name() string             { return r.name }
func (r *recorder) Context() context.Context { return r.ctx }

// failedLeaves returns the names of the subtests that failed themselves, not
// through a subtest of theirs, in the order they started.
func (rec *record) failedLeaves() []string {
	var names []string
	for _, name := range rec.order {
		if rec.tests[name].failed && !rec.hasFailedChild(name) {
			names = append(names, name)
		}
	}
	return names
}

func (rec *record) hasFailedChild(name string) bool {
	for n, o := range rec.tests {
		if o.failed && n != name && (name == "" || strings.HasPrefix(n, name+"/")) {
			return true
		}
	}
	return false
}

func (rec *record) skipped() []string {
	var names []string
	for _, name := range rec.order {
		if rec.tests[name].skipped {
			names = append(names, name)
		}
	}
	return names
}

// leaves returns the names of the subtests that have no subtests.
func (rec *record) leaves() []string {
	// A group's subtests need not follow it: those of a parallel group
	// start once the groups after it are done.
	var names []string
	for _, name := range rec.order {
		parent := slices.ContainsFunc(rec.order, func(other string) bool { return strings.HasPrefix(other, name+"/") })
		if !parent && name != "" {
			names = append(names, name)
		}
	}
	return names
}

// report prints the messages of the failed subtests.
func (rec *record) report() string {
	var b strings.Builder
	for _, name := range rec.failedLeaves() {
		fmt.Fprintf(&b, "--- FAIL: %s\n", name)
		for _, m := range rec.tests[name].messages {
			fmt.Fprintf(&b, "    %s\n", strings.TrimSpace(m))
		}
	}
	return b.String()
}

// TestRecorder checks that the recorder behaves like testing where the
// suite relies on it.
func TestRecorder(t *testing.T) {
	var afterFatal, bodyReturned, parallelSawBody atomic.Bool
	var cleanups []string
	var mu sync.Mutex
	addCleanup := func(s string) { mu.Lock(); cleanups = append(cleanups, s); mu.Unlock() }
	a, b := make(chan struct{}), make(chan struct{})
	meet := func(t tester, mine, theirs chan struct{}) {
		close(mine)
		select {
		case <-theirs:
		case <-time.After(5 * time.Second):
			t.Errorf("parallel subtests did not overlap")
		}
	}

	rec := runRecorded(t, func(t tester) {
		t.Run("fatal", func(t tester) {
			t.Fatalf("stop")
			afterFatal.Store(true)
		})
		t.Run("panics", func(t tester) { panic("boom") })
		t.Run("skips", func(t tester) { t.Skipf("not here") })
		t.Run("group", func(t tester) {
			var ctx context.Context
			t.Cleanup(func() { addCleanup("first registered") })
			t.Cleanup(func() {
				if ctx.Err() == nil {
					t.Errorf("context still live during cleanup")
				}
				addCleanup("last registered")
			})
			ctx = t.Context()
			t.Run("a", func(t tester) {
				t.Parallel()
				parallelSawBody.Store(bodyReturned.Load())
				meet(t, a, b)
				addCleanup("a ran")
			})
			t.Run("b", func(t tester) {
				t.Parallel()
				meet(t, b, a)
				addCleanup("b ran")
			})
			bodyReturned.Store(true)
		})
	})

	if afterFatal.Load() {
		t.Errorf("code after Fatalf ran")
	}
	if got, want := rec.failedLeaves(), []string{"fatal", "panics"}; !slices.Equal(got, want) {
		t.Errorf("failed subtests = %q; want %q\n%s", got, want, rec.report())
	}
	if !rec.tests[""].failed {
		t.Errorf("the failure of a subtest did not fail its parent")
	}
	if got := rec.skipped(); !slices.Equal(got, []string{"skips"}) {
		t.Errorf("skipped = %q; want [skips]", got)
	}
	if !parallelSawBody.Load() {
		t.Errorf("a parallel subtest resumed before its parent's function returned")
	}
	if len(cleanups) != 4 || cleanups[2] != "last registered" || cleanups[3] != "first registered" {
		t.Errorf("cleanups ran as %q; want both subtests, then the cleanups last registered first", cleanups)
	}
}
