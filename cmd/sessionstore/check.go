package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
	"github.com/sessionstore/sessionstore/internal/storewrap"
	"github.com/sessionstore/sessionstore/storetest"
)

// checkTimeout bounds a whole check by default: the suite takes seconds on
// a nearby server, most of it waiting for the clock, so this only ends a
// check that a server stopped answering midway.
const checkTimeout = 10 * time.Minute

// cleanupTimeout bounds removing one store's namespace after a rule.
const cleanupTimeout = 30 * time.Second

func runCheck(e *env, args []string) error {
	fs := e.flags()
	verbose := fs.Bool("v", false, "print the rules not checked one by one (SKIP), and the notes of passed rules")
	runPattern := fs.String("run", "", "run only the rules whose names match this regular expression")
	skipPattern := fs.String("skip", "", "leave out the rules whose names match this regular expression")
	timeout := e.timeoutFlags(fs, checkTimeout, "stop the whole check after this `duration` (0: never); the rules it cuts short are reported as not run, never as failed")
	pos, err := e.parse(fs, args, `Runs the conformance suite of package storetest against the server at URL,
each rule in a prefix, table or collection of its own (named
sessionstore_check_*), removed when the rule ends; on memcached, which
cannot list its keys, every key the rule wrote is deleted. The URL's own
?prefix=, ?table= or ?collection= is not used.

Prints each rule as PASS or FAIL (with the suite's messages), then what it
did not check and why (a capability the backend does not have, a rule that
needs what this command cannot give, such as a second client), then a
summary. Exits 1 when a rule fails, or when -timeout stops the check before
every rule ran (the summary counts the rules not run).

-run and -skip pick rules by a regular expression matched against a rule's
whole name as printed: -run 'Touch/' runs the Touch rules alone, -skip
'deadline passes' leaves those rules out.`)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one URL, got %s", pl(len(pos), "argument"))
	}
	sel, err := newRuleSelection(*runPattern, *skipPattern)
	if err != nil {
		return err
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()

	base := "sessionstore_check_" + strings.ToLower(rand.Text()[:8])
	// A first store checks the URL and the server, and tells the backend.
	probe, err := e.open(ctx, "store", pos[0], storeurl.Options{Namespace: base, Prepare: true, Logger: quiet})
	if err != nil {
		return timedOut(ctx, err)
	}
	dropStore(probe, nil)
	closeStore(probe)
	unreachable, err := unreachableURL(pos[0])
	if err != nil {
		return err
	}

	var n atomic.Int64
	var namespaces sync.Map // every rule's namespace, for the sweep after the suite
	h := storetest.Harness{
		NewStore: func(t testing.TB) sessionstore.Store {
			if err := t.Context().Err(); err != nil {
				// The check's time is up: no namespace to make, and none
				// for the sweep to remove.
				t.Fatalf("not run: %v", context.Cause(t.Context()))
			}
			ns := storeurl.KeyPrefix(pos[0], fmt.Sprintf("%s_%d", base, n.Add(1)))
			namespaces.Store(ns, true)
			st, err := e.open(t.Context(), "store", pos[0], storeurl.Options{Namespace: ns, Prepare: true, Logger: quiet})
			for try := 1; err != nil && try < 3 && t.Context().Err() == nil; try++ {
				// Preparing a namespace is the harness's work, not the
				// rule's: a busy server that fails it now and then
				// (FerretDB on SQLite: "interrupted") gets another try.
				time.Sleep(time.Duration(try) * 200 * time.Millisecond)
				st, err = e.open(t.Context(), "store", pos[0], storeurl.Options{Namespace: ns, Prepare: true, Logger: quiet})
			}
			if err != nil {
				t.Fatalf("open a store of its own: %v", err)
			}
			var tr *tracker
			s := st.Store
			if probe.Backend == storeurl.Memcache {
				tr = &tracker{Store: st.Store}
				s = storewrap.New(st.Store, tr)
			}
			t.Cleanup(func() {
				// Stop the store's own background work first: a cleanup
				// round after the drop could bring the collection back
				// (FerretDB creates a collection a delete names). Not on
				// memcached, whose keys the closed store would have to
				// delete one by one.
				if c, ok := st.Store.(io.Closer); ok && tr == nil {
					c.Close()
				}
				dropStore(st, tr)
				closeStore(st)
			})
			return s
		},
		MaxDataSize: probe.MaxDataSize,
		NewUnreachableStore: func(t testing.TB) sessionstore.Store {
			st, err := e.open(t.Context(), "store", unreachable, storeurl.Options{NoPing: true, Logger: quiet})
			if err != nil {
				t.Fatalf("open a store of an unreachable server: %v", err)
			}
			t.Cleanup(func() { closeStore(st) })
			return st.Store
		},
	}
	if probe.Backend == storeurl.Memory {
		h.NewUnreachableStore = nil // nothing to reach
	}

	fmt.Fprintf(e.stdout, "checking %s (%s) against the conformance suite\n", probe.Shown, probe.Backend)
	start := time.Now()
	var passed, failed, notRun int
	var mu sync.Mutex
	var skips skipSummary
	storetest.RunRules(ctx, h, sel.keep, func(r storetest.Result) {
		mu.Lock()
		defer mu.Unlock()
		// Once the check's time is up, the suite fails the rules under
		// way at once and runs the rest against an ended context: what
		// they report then is not the server's doing.
		if ctx.Err() != nil && r.Status != storetest.Passed {
			notRun++
			return
		}
		switch r.Status {
		case storetest.Passed:
			passed++
		case storetest.Failed:
			failed++
		case storetest.Skipped:
			reason := ""
			if len(r.Messages) > 0 {
				reason = r.Messages[0]
			}
			skips.add(r.Name, reason, probe.Backend)
			if !*verbose {
				return
			}
		}
		fmt.Fprintf(e.stdout, "%s  %s\n", r.Status, r.Name)
		if r.Status == storetest.Failed || *verbose {
			for _, m := range r.Messages {
				fmt.Fprintf(e.stdout, "      %s\n", strings.ReplaceAll(m, "\n", "\n      "))
			}
		}
	})
	if probe.Backend != storeurl.Memcache && probe.Backend != storeurl.Memory {
		sweep(e, pos[0], &namespaces)
	}
	skips.print(e.stdout)
	verdict := "ok"
	switch {
	case failed > 0:
		verdict = "FAIL"
	case notRun > 0:
		verdict = "stopped"
	case passed+skips.n == 0:
		verdict = "none"
	}
	summary := fmt.Sprintf("%s  %s: %s passed, %d failed, %d not checked", verdict, probe.Shown, pl(passed, "rule"), failed, skips.n)
	if sel.leftOut() {
		summary += ", the others left out by -run or -skip"
	}
	summary += fmt.Sprintf(" in %.1fs", time.Since(start).Seconds())
	var stopped string
	if notRun > 0 || ctx.Err() != nil {
		stopped = fmt.Sprintf("interrupted after %.1fs: %s not run", time.Since(start).Seconds(), pl(notRun, "rule"))
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			stopped = fmt.Sprintf("timed out after %v (-timeout): %s not run", *timeout, pl(notRun, "rule"))
		}
		summary += "; " + stopped
	}
	fmt.Fprintln(e.stdout, summary)
	switch {
	case failed > 0 && stopped != "":
		return failedError{fmt.Sprintf("%s failed; %s", pl(failed, "rule"), stopped)}
	case failed > 0:
		return failedError{pl(failed, "rule") + " failed"}
	case stopped != "":
		return failedError{stopped}
	case passed+skips.n == 0:
		return failedError{"no rule left to run by -run and -skip"}
	}
	return nil
}

// skipSummary gathers the rules check did not check, by reason, to print
// each reason once in an operator's words rather than a line per rule in
// the suite's (which speak of the Harness a test author fills in).
type skipSummary struct {
	n       int
	reasons []string       // in the order first seen
	rules   map[string]int // rules per reason
}

func (s *skipSummary) add(rule, reason, backend string) {
	why := notChecked(rule, reason, backend)
	if s.rules == nil {
		s.rules = map[string]int{}
	}
	if s.rules[why] == 0 {
		s.reasons = append(s.reasons, why)
	}
	s.rules[why]++
	s.n++
}

func (s *skipSummary) print(w io.Writer) {
	for _, why := range s.reasons {
		if n := s.rules[why]; n > 1 {
			fmt.Fprintf(w, "not checked (%d rules): %s\n", n, why)
		} else {
			fmt.Fprintf(w, "not checked: %s\n", why)
		}
	}
}

// notChecked says in an operator's words what a skipped rule leaves
// unchecked and why, from the reason the suite gave.
func notChecked(rule, reason, backend string) string {
	switch {
	case strings.Contains(reason, "NewNamedStore is nil"):
		return "that stores an application names alike (Sessions and sessions, x:y and x_y) stay apart; this command names each store of the check itself"
	case strings.Contains(reason, "NestedNames is false"):
		return "that stores whose names nest (a and ab) stay apart; the backend asks that no prefix begin another"
	case strings.Contains(reason, "OpenAgain"):
		return "what a second client of the same data, or a restart, sees; this command opens one client per store"
	case strings.Contains(reason, "does not outlive Close"):
		return "what a restart sees; the store keeps nothing once closed"
	case strings.Contains(reason, "MaxDataSize is 0"):
		return "data over the maximum size; the " + backend + " store has no maximum"
	case strings.Contains(reason, "NewUnreachableStore is nil"):
		return "calls to a server that does not answer; the " + backend + " store has no server"
	}
	if iface, ok := strings.CutPrefix(reason, "the store does not implement sessionstore."); ok {
		return fmt.Sprintf("the %s rules; the %s store does not implement sessionstore.%s, an optional capability", rule, backend, iface)
	}
	if reason == "" {
		return rule
	}
	return rule + ": " + reason
}

// ruleSelection picks the rules a check runs, as go test's -run and -skip
// pick tests, except that a pattern matches a rule's whole name
// ("Load/missing id is not found with nil error") rather than each level.
type ruleSelection struct {
	run, skip *regexp.Regexp // nil: every rule; none
	left      atomic.Bool    // some rule was left out
}

func newRuleSelection(run, skip string) (*ruleSelection, error) {
	sel := &ruleSelection{}
	for _, f := range []struct {
		flag, pattern string
		re            **regexp.Regexp
	}{{"run", run, &sel.run}, {"skip", skip, &sel.skip}} {
		if f.pattern == "" {
			continue
		}
		re, err := regexp.Compile(f.pattern)
		if err != nil {
			return nil, usagef("-%s: %v", f.flag, err)
		}
		*f.re = re
	}
	return sel, nil
}

// keep reports whether the rule called name runs, noting those left out.
func (sel *ruleSelection) keep(name string) bool {
	if (sel.run == nil || sel.run.MatchString(name)) && (sel.skip == nil || !sel.skip.MatchString(name)) {
		return true
	}
	sel.left.Store(true)
	return false
}

// leftOut reports whether some rule was left out.
func (sel *ruleSelection) leftOut() bool { return sel.left.Load() }

// sweep drops every rule's namespace once more, a moment after the suite:
// a write whose caller gave up at its deadline (the rules about deadlines
// make such writes) may still land on a busy server after its rule dropped
// the namespace, and bring it back.
func sweep(e *env, url string, namespaces *sync.Map) {
	time.Sleep(sweepDelay)
	namespaces.Range(func(ns, _ any) bool {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		st, err := e.open(ctx, "store", url, storeurl.Options{Namespace: ns.(string), NoPing: true, Logger: quiet})
		if err == nil {
			dropStore(st, nil)
			closeStore(st)
		}
		return true
	})
}

// sweepDelay is how long sweep lets late writes land first.
const sweepDelay = time.Second

// quiet discards the stores' background notices (FerretDB's missing TTL
// indexes, for one), which would interleave with the results.
var quiet = slog.New(slog.DiscardHandler)

// dropStore removes what a store of the check left: its namespace, or on
// memcached every key tr saw written.
func dropStore(st *storeurl.Store, tr *tracker) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	for try := 1; ; try++ {
		err := st.Drop(ctx)
		switch {
		case err == nil:
			return
		case errors.Is(err, errors.ErrUnsupported):
			if tr != nil {
				tr.deleteAll(ctx)
			}
			return
		case try == 3 || ctx.Err() != nil:
			return
		}
		// A busy server may fail a drop now and then (FerretDB on SQLite
		// says "interrupted"): try again shortly.
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
	}
}

// unreachableURL returns arg with its servers replaced by an address
// nothing listens on, for the suite's rule 8.
func unreachableURL(arg string) (string, error) {
	if arg == "memory" {
		return "memory", nil
	}
	if storeurl.BackendOf(arg) == storeurl.SQLite {
		// A file in a directory that does not exist: SQLite cannot open it.
		return "sqlite:" + filepath.Join(os.TempDir(), "sessionstore-unreachable-"+strings.ToLower(rand.Text()[:8]), "sessions.db"), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a closed port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, err := url.Parse(arg)
	if err != nil {
		return "", err // Open reported it before
	}
	u.Host = addr
	if u.Scheme == "mongodb+srv" {
		u.Scheme = "mongodb" // no DNS lookup of a closed port
	}
	q := u.Query()
	q.Del("prefix")
	q.Del("table")
	q.Del("collection")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// tracker remembers the ids written through it, so that a rule's records
// can be deleted from a store that cannot list them.
type tracker struct {
	sessionstore.Store
	mu  sync.Mutex
	ids map[string]struct{}
}

func (t *tracker) note(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids == nil {
		t.ids = make(map[string]struct{})
	}
	t.ids[id] = struct{}{}
}

func (t *tracker) deleteAll(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.ids {
		t.Store.Delete(ctx, id)
	}
}

func (t *tracker) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	t.note(id)
	return t.Store.Save(ctx, id, data, expiry)
}

func (t *tracker) Touch(ctx context.Context, id string, expiry time.Time) (bool, error) {
	return t.Store.(sessionstore.Toucher).Touch(ctx, id, expiry)
}

func (t *tracker) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, expiry time.Time) (bool, error) {
	t.note(id)
	return t.Store.(sessionstore.Swapper).CompareAndSwap(ctx, id, version, data, expiry)
}

func (t *tracker) Iterate(ctx context.Context, fn func(string, sessionstore.Record) bool) error {
	return t.Store.(sessionstore.Iterator).Iterate(ctx, fn)
}

func (t *tracker) Count(ctx context.Context) (int, error) {
	return t.Store.(sessionstore.Counter).Count(ctx)
}

func (t *tracker) Close() error { return t.Store.(io.Closer).Close() }
