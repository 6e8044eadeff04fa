package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
)

// The tests of this file are what issue #32 (item 8) found an operator
// tripping over. Each runs in a few seconds at most, all in parallel: the
// suite's full runs are TestCheck's.

// TestCheckTimeoutIsNotFailure runs check with a -timeout far shorter than
// the suite: running out of time is reported as rules not run, never as
// failed rules (before, a healthy store "failed" every rule the deadline
// cut), and exits 1.
func TestCheckTimeoutIsNotFailure(t *testing.T) {
	t.Parallel()
	r := sessionstoreCmd(t, "check", "-timeout", "1s", "memory").want(t, exitFailed)
	if strings.Contains(r.stdout, "FAIL") {
		t.Errorf("a check cut by -timeout printed failures:\n%s", r.stdout)
	}
	re := regexp.MustCompile(`^sessionstore check: timed out after 1s \(-timeout\): (\d+) rules? not run\n$`)
	m := re.FindStringSubmatch(r.stderr)
	if m == nil || m[1] == "0" {
		t.Fatalf("stderr %q; want it to match %s with some rules", r.stderr, re)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "stopped  memory: ") || !strings.Contains(last, " 0 failed") ||
		!strings.HasSuffix(last, "; timed out after 1s (-timeout): "+m[1]+" rules not run") {
		t.Errorf("summary %q; want it stopped, 0 failed, %s rules not run", last, m[1])
	}
}

// TestWrongServer points each backend's URL at another server's port, the
// real servers in their containers: opening fails within -connect-timeout
// (before, PostgreSQL's, MySQL's and MongoDB's drivers waited for a greeting
// until the command's own -timeout, ten minutes for check), exit 3, with one
// line naming the host:port and the server it expected.
func TestWrongServer(t *testing.T) {
	t.Parallel()
	_, rd := redistest.New(t)
	_, pg := pgtest.New(t)
	_, my := mysqltest.New(t)
	_, mc := memcachetest.New(t)
	_, mg := mongotest.New(t)
	for _, tc := range []struct {
		cmd  string
		url  string
		addr string
		want string
	}{
		{"count", "postgres://postgres:postgres@" + rd.Addr + "/postgres", rd.Addr, "PostgreSQL"},
		{"check", "postgres://postgres:postgres@" + mc.Addr + "/postgres", mc.Addr, "PostgreSQL"},
		{"count", "redis://" + pg.Addr + "/0", pg.Addr, "Redis"},
		{"list", "mysql://root:secret@" + rd.Addr + "/sessions", rd.Addr, "MySQL"},
		{"count", "mongodb://" + my.Addr, my.Addr, "MongoDB"},
		{"bench", "mongodb://" + pg.Addr, pg.Addr, "MongoDB"},
		{"count", "memcache://" + mg.Addr, mg.Addr, "memcached"},
		{"copy", "redis://" + mc.Addr + "/0", mc.Addr, "Redis"},
	} {
		t.Run(tc.cmd+" "+tc.url, func(t *testing.T) {
			t.Parallel()
			args := []string{tc.cmd, "-connect-timeout", "1s", tc.url}
			if tc.cmd == "copy" {
				args = append(args, "sqlite:"+filepath.Join(t.TempDir(), "to.db"))
			}
			start := time.Now()
			r := sessionstoreCmd(t, args...).want(t, exitConnect)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v with -connect-timeout 1s", took)
			}
			want := fmt.Sprintf(": ping: %s accepted the connection but did not answer as %s ", tc.addr, tc.want)
			hint := fmt.Sprintf("; is host:port right? %s listens on ", tc.want)
			if !strings.HasPrefix(r.stderr, "sessionstore "+tc.cmd+": ") || !strings.Contains(r.stderr, want) ||
				!strings.Contains(r.stderr, hint) || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr %q; want one line saying %q and %q", r.stderr, want, hint)
			}
		})
	}
}

// TestMemoryRefused: the memory URL is a store inside the command, empty;
// count, list, revoke and copy refuse it (before, count printed 0) while
// check and bench, which bring their own data, keep it.
func TestMemoryRefused(t *testing.T) {
	t.Parallel()
	const why = "memory is a store inside this command, empty when it starts: it cannot reach the sessions of another process"
	for _, args := range [][]string{
		{"count", "memory"},
		{"list", "-owner", "alice", "memory"},
		{"revoke", "memory", "somekey"},
		{"revoke", "-all", "-yes", "memory"},
		{"copy", "memory", "sqlite:" + filepath.Join(t.TempDir(), "to.db")},
		{"copy", "sqlite:" + filepath.Join(t.TempDir(), "from.db"), "memory"},
	} {
		r := sessionstoreCmd(t, args...).want(t, exitUsage)
		if !strings.HasPrefix(r.stderr, "sessionstore "+args[0]+": "+why) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q printed %q; want one line saying %q", args, r.stderr, why)
		}
	}
	r := sessionstoreCmd(t, "bench", "-n", "100", "-sessions", "10", "memory").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "bench memory (memory): 8 workers, 10 sessions of 1024 bytes, 100 operations\n") {
		t.Errorf("bench memory printed:\n%s", r.stdout)
	}
}

// TestRevokeAllAsks: revoke -all says how many sessions it will end and asks
// on a terminal, ends nothing unless answered y, refuses without a terminal
// unless -yes (before, it deleted everything without a word).
func TestRevokeAllAsks(t *testing.T) {
	t.Parallel()
	u := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
	st := openStore(t, u)
	m := sessionstore.New(st.Store)
	for range 3 {
		newSession(t, m, "")
	}
	newSession(t, m, "alice") // a session and alice's index: 5 records

	r := sessionstoreCmd(t, "revoke", "-all", u).want(t, exitUsage)
	if r.stderr != "sessionstore revoke: -all ends every session of the store and asks first, but stdin is not a terminal to ask on; add -yes to revoke them all without asking; run sessionstore revoke -h for usage\n" {
		t.Errorf("revoke -all without a terminal printed %q", r.stderr)
	}
	asked := func(answer string) result {
		var out, errOut bytes.Buffer
		code := runWith(t.Context(), []string{"revoke", "-all", u},
			streams{stdin: strings.NewReader(answer), stdinTerminal: true, stdout: &out, stderr: &errOut}, nil)
		return result{out.String(), errOut.String(), code}
	}
	question := "This ends 4 sessions (5 records, of every user) in " + storeurl.Shown(u) + ". Revoke them all? [y/N] "
	for _, answer := range []string{"\n", "n\n", "yes please\n", ""} {
		r = asked(answer).want(t, exitFailed)
		if r.stderr != question+"sessionstore revoke: nothing revoked\n" || r.stdout != "" {
			t.Errorf("answered %q: printed %q, %q", answer, r.stdout, r.stderr)
		}
	}
	if n, err := sessionstore.Count(t.Context(), st.Store); err != nil || n != 5 {
		t.Fatalf("after declining: %d records, %v; want all 5", n, err)
	}
	r = asked("Y\n").want(t, exitOK)
	if r.stderr != question || r.stdout != "revoked all 5 records (4 sessions)\n" {
		t.Errorf("answered y: printed %q, %q", r.stdout, r.stderr)
	}
	r = sessionstoreCmd(t, "revoke", "-all", "-yes", u).want(t, exitOK)
	if r.stdout != "no records to revoke\n" {
		t.Errorf("revoke -all -yes of an empty store printed %q", r.stdout)
	}
	sessionstoreCmd(t, "revoke", "-yes", u, "key").want(t, exitUsage)
}

// TestPlurals: one of a thing is singular in every count the commands
// print (before: "revoked 1 sessions", "1 rules passed").
func TestPlurals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u := "sqlite:" + filepath.Join(dir, "sessions.db")
	st := openStore(t, u)
	key := newSession(t, sessionstore.New(st.Store), "")
	if out := sessionstoreCmd(t, "list", u).want(t, exitOK).stdout; !strings.HasSuffix(out, "\n1 record: 1 session, 0 other\n") {
		t.Errorf("list printed:\n%s", out)
	}
	if out := sessionstoreCmd(t, "copy", u, "sqlite:"+filepath.Join(dir, "to.db")).want(t, exitOK).stdout; !strings.HasPrefix(out, "copied 1 record from ") {
		t.Errorf("copy printed %q", out)
	}
	if out := sessionstoreCmd(t, "revoke", u, key).want(t, exitOK).stdout; out != "revoked 1 session\n" {
		t.Errorf("revoke printed %q", out)
	}
	r := sessionstoreCmd(t, "check", "-run", "^Load/missing id is not found with nil error$", "memory").want(t, exitOK)
	if !strings.Contains(r.stdout, "\nok  memory: 1 rule passed, 0 failed, 0 not checked, the others left out by -run or -skip in ") {
		t.Errorf("check of one rule printed:\n%s", r.stdout)
	}
	r = sessionstoreCmd(t, "bench", "-n", "1", "-c", "1", "-sessions", "1", "-size", "1", "memory").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "bench memory (memory): 1 worker, 1 session of 1 byte, 1 operation\n") {
		t.Errorf("bench printed:\n%s", r.stdout)
	}
}

// TestErrorsSayEachLayerOnce: an error passing through the library, the
// store and the command names each once (before: "sessionstore revoke:
// ...: revoke: sessionstore: revoke session: sessionstore: no such session
// of the owner").
func TestErrorsSayEachLayerOnce(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	e := &env{ctx: t.Context(), cmd: command{name: "revoke"}, streams: streams{stdout: &out, stderr: &errOut}}
	err := fmt.Errorf("%s: revoke: %w", "sqlite:x.db", fmt.Errorf("sessionstore: revoke: %w", sessionstore.ErrClosed))
	if code := e.exit(err); code != exitFailed || errOut.String() != "sessionstore revoke: sqlite:x.db: revoke: revoke: store closed\n" {
		t.Errorf("exit %d, printed %q", code, errOut.String())
	}

	// A handle the owner does not have (the stutter the issue quotes).
	u := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	openStore(t, u)
	r := sessionstoreCmd(t, "revoke", "-owner", "alice", "-handle", "zz", u).want(t, exitFailed)
	if r.stderr != "sessionstore revoke: alice has no live session with handle zz (list -owner alice shows the handles)\n" {
		t.Errorf("revoke of a missing handle printed %q", r.stderr)
	}

	// A missing file: the command, the store, the step, the cause, what to try.
	path := filepath.Join(t.TempDir(), "missing.db")
	r = sessionstoreCmd(t, "count", "sqlite:"+path).want(t, exitConnect)
	if want := "sessionstore count: store sqlite:" + path + ": open: stat " + path + ": no such file or directory; check the path; the file must exist (the demo and copy create it)\n"; r.stderr != want {
		t.Errorf("count of a missing file printed %q; want %q", r.stderr, want)
	}
}

// TestHTMLMarksOverBars: in the bench report's histograms the percentile
// marks come after the bars, so they are painted over them, each a solid
// line over a white halo on light bars (before, p50's thin dashed line lay
// inside the dark bar of its bucket and could not be seen).
func TestHTMLMarksOverBars(t *testing.T) {
	t.Parallel()
	o := &opStats{Op: "Load"}
	for i := range 1000 {
		o.lat = append(o.lat, time.Duration(100+i%50)*time.Microsecond)
	}
	o.Count = len(o.lat)
	o.P50, o.P99, o.Max = int64(pct(o.lat, 50)), int64(pct(o.lat, 99)), int64(o.lat[len(o.lat)-1])
	svg := svgHistogram(o, time.Microsecond, time.Second)
	lastBar := strings.LastIndex(svg, "<rect")
	p50 := strings.Index(svg, `<g class="mark p50">`)
	if lastBar < 0 || p50 < lastBar {
		t.Fatalf("the p50 mark (at %d) is not drawn after the last bar (at %d):\n%s", p50, lastBar, svg)
	}
	mark := svg[p50:]
	mark = mark[:strings.Index(mark, "</g>")]
	halo := strings.Index(mark, `stroke="#fff" stroke-width="4"`)
	line := strings.Index(mark, `stroke="#c0392b" stroke-width="2"`)
	if halo < 0 || line < halo || strings.Contains(mark, "dasharray") {
		t.Errorf("the p50 mark is not a solid line over a white halo: %s", mark)
	}
	if !strings.Contains(svg, `<g class="bars" fill="#9bb8dd">`) {
		t.Errorf("the bars are not the light colour the marks show over:\n%s", svg)
	}
}
