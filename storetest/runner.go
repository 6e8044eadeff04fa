package storetest

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Status is the outcome of one rule of the suite.
type Status int

// The outcomes of a rule.
const (
	Passed Status = iota
	Failed
	Skipped
)

func (s Status) String() string {
	switch s {
	case Passed:
		return "PASS"
	case Failed:
		return "FAIL"
	case Skipped:
		return "SKIP"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is what one rule of the suite reported: a subtest that has no
// subtests, or a group that stopped before running any (a capability the
// store lacks is one Skipped result named after the group).
type Result struct {
	// Name is the rule's name as go test prints it, with spaces:
	// "Load/missing id is not found with nil error".
	Name   string
	Status Status
	// Messages are what the rule logged, in order: the reasons of a
	// failure, the reason of a skip, its notes.
	Messages []string
	Elapsed  time.Duration
}

// RunSuite runs the suite outside go test, against the stores of h: the
// same rules, in the same order and with the same parallel clock checks as
// [Run]. It calls report, when not nil, as each rule finishes (one call at
// a time, from any goroutine), and returns every result in the order the
// rules started once all have finished. When ctx ends, the rules under way
// fail promptly and the rest run against an ended context.
//
// The testing.TB that h's constructors receive is RunSuite's own: it
// supports Cleanup, Context, the logging and failing methods, Name and
// TempDir; Setenv, Chdir and ArtifactDir fail the rule that calls them.
func RunSuite(ctx context.Context, h Harness, report func(Result)) []Result {
	return RunRules(ctx, h, nil, report)
}

// RunRules is [RunSuite] limited to the rules whose names (as in
// [Result.Name]: "Load/missing id is not found with nil error") keep
// accepts; nil keeps every rule. A group none of whose rules is kept is not
// run at all, so it reports nothing (not even a capability the store lacks).
// It serves to run again one failing rule, or to leave out rules a server
// is known to break.
func RunRules(ctx context.Context, h Harness, keep func(rule string) bool, report func(Result)) []Result {
	outsideTests.Do(func() {
		if !testing.Testing() {
			// rapid asks testing.Short, which needs testing's flags
			// registered and parsed (a program outside go test, such as
			// cmd/sessionstore, parses none: it has flag sets of its own),
			// and would write a failing sequence under testdata/ of the
			// current directory.
			testing.Init()
			if !flag.Parsed() {
				flag.CommandLine.Parse(nil)
			}
			flag.Set("rapid.nofailfile", "true")
		}
	})
	r := &runReport{report: report}
	root := newRunT(ctx, nil, "", r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		root.run(func(t tester) { runOnly(t, h, keep) })
	}()
	<-done
	return r.results
}

// outsideTests prepares, once, for running the suite outside go test.
var outsideTests sync.Once

// runReport collects the results of one RunSuite.
type runReport struct {
	mu      sync.Mutex
	report  func(Result)
	results []Result
	started []string // names in the order they started, for ordering results
}

// runT is the tester of RunSuite. It behaves like testing.T where the suite
// relies on it: each subtest runs in its own goroutine, FailNow and SkipNow
// end it with runtime.Goexit, Parallel lets Run return at once and resumes
// the subtest when its parent's function has returned, cleanups run last
// registered first after the subtests, with the context cancelled.
type runT struct {
	// TB is nil: it only gives runT testing.TB's unexported method. Every
	// method of testing.TB is defined below.
	testing.TB

	name   string
	parent *runT
	rep    *runReport
	start  time.Time

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failed   bool // by itself or through a subtest
	ownFail  bool // by itself
	skipped  bool
	children int
	messages []string
	cleanups []func()

	isParallel bool
	paused     chan struct{} // closed when the subtest calls Parallel
	bodyDone   chan struct{} // closed when the subtest's function has returned
	subs       sync.WaitGroup
}

var _ tester = (*runT)(nil)

// newRunT returns a subtest of parent (nil for the top) whose context
// derives from ctx, its parent's for a subtest.
func newRunT(ctx context.Context, parent *runT, name string, rep *runReport) *runT {
	if parent != nil && parent.name != "" {
		name = parent.name + "/" + name
	}
	t := &runT{name: name, parent: parent, rep: rep, start: time.Now(),
		paused: make(chan struct{}), bodyDone: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(ctx)
	rep.mu.Lock()
	rep.started = append(rep.started, name)
	rep.mu.Unlock()
	return t
}

// run runs f as t's function, then finishes t as testing does.
func (t *runT) run(f func(t tester)) {
	defer t.finish()
	defer func() {
		// A panic (not runtime.Goexit, for which recover returns nil) fails
		// the rule where testing would crash the whole program.
		if p := recover(); p != nil {
			t.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	f(t)
}

func (t *runT) finish() {
	close(t.bodyDone)
	t.subs.Wait()
	t.cancel()
	t.mu.Lock()
	cleanups := t.cleanups
	t.mu.Unlock()
	for _, c := range slices.Backward(cleanups) {
		t.cleanup(c)
	}
	t.mu.Lock()
	res := Result{Name: cmp.Or(t.name, "suite"), Messages: t.messages, Elapsed: time.Since(t.start)}
	switch {
	case t.failed:
		res.Status = Failed
	case t.skipped:
		res.Status = Skipped
	}
	// A group reports only what it did itself: a failure of its own, or a
	// skip before it ran any rule.
	leaf := t.children == 0 || t.ownFail
	if t.parent == nil && t.children == 0 && res.Status == Passed {
		leaf = false // RunRules kept no rule: nothing ran to report
	}
	if t.children > 0 && t.ownFail {
		res.Status = Failed
	}
	failed := t.failed
	t.mu.Unlock()
	if leaf {
		t.rep.add(res)
	}
	if t.parent != nil {
		if failed {
			t.parent.mu.Lock()
			t.parent.failed = true
			t.parent.mu.Unlock()
		}
		if t.isParallel {
			t.parent.subs.Done()
		}
	}
}

func (r *runReport) add(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
	order := func(name string) int { return slices.Index(r.started, name) }
	slices.SortStableFunc(r.results, func(a, b Result) int { return order(a.Name) - order(b.Name) })
	if r.report != nil {
		r.report(res)
	}
}

func (t *runT) cleanup(c func()) {
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("panic in cleanup: %v", p)
		}
	}()
	c()
}

func (t *runT) Run(name string, f func(t tester)) bool {
	t.mu.Lock()
	t.children++
	t.mu.Unlock()
	sub := newRunT(t.ctx, t, name, t.rep)
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

func (t *runT) Parallel() {
	t.parent.subs.Add(1)
	t.isParallel = true
	close(t.paused)
	<-t.parent.bodyDone
}

func (t *runT) note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.messages = append(t.messages, strings.TrimSpace(msg))
}

func (t *runT) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed, t.ownFail = true, true
}

func (t *runT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *runT) FailNow() {
	t.Fail()
	runtime.Goexit()
}

func (t *runT) Log(args ...any)                 { t.note(fmt.Sprintln(args...)) }
func (t *runT) Logf(format string, args ...any) { t.note(fmt.Sprintf(format, args...)) }
func (t *runT) Error(args ...any)               { t.Log(args...); t.Fail() }
func (t *runT) Errorf(format string, args ...any) {
	t.Logf(format, args...)
	t.Fail()
}
func (t *runT) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *runT) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }

func (t *runT) SkipNow() {
	t.mu.Lock()
	t.skipped = true
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *runT) Skip(args ...any)                 { t.Log(args...); t.SkipNow() }
func (t *runT) Skipf(format string, args ...any) { t.Logf(format, args...); t.SkipNow() }

func (t *runT) Skipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skipped
}

func (t *runT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *runT) Helper()                  {}
func (t *runT) Name() string             { return t.name }
func (t *runT) Context() context.Context { return t.ctx }
func (t *runT) Attr(key, value string)   { t.Logf("%s=%s", key, value) }
func (t *runT) Output() io.Writer        { return outputWriter{t} }

func (t *runT) TempDir() string {
	dir, err := os.MkdirTemp("", "storetest")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *runT) Setenv(string, string) { t.Fatalf("Setenv is not supported outside go test") }
func (t *runT) Chdir(string)          { t.Fatalf("Chdir is not supported outside go test") }
func (t *runT) ArtifactDir() string {
	t.Fatalf("ArtifactDir is not supported outside go test")
	return ""
}

// outputWriter logs what is written to it.
type outputWriter struct{ t *runT }

func (w outputWriter) Write(p []byte) (int, error) {
	w.t.note(string(p))
	return len(p), nil
}
