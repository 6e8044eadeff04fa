package main

import (
	"encoding/json"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
)

// hangingListener returns the address of a listener that accepts
// connections and never answers, closed when the test ends.
func hangingListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}

// TestAdmin runs count, list and revoke against each backend over sessions
// a Manager stored: two of alice, one of bob, two anonymous, and one record
// that is not a session.
func TestAdmin(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := b.url(t)
			st := openStore(t, u)
			m := sessionstore.New(st.Store)
			alice := []string{newSession(t, m, "alice"), newSession(t, m, "alice")}
			bob := newSession(t, m, "bob")
			anon := []string{newSession(t, m, ""), newSession(t, m, "")}
			expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			if err := st.Save(t.Context(), "raw-record", []byte("x"), expiry); err != nil {
				t.Fatal(err)
			}

			if !b.iterates {
				r := sessionstoreCmd(t, "count", u).want(t, exitFailed)
				if !strings.Contains(r.stderr, "memcache cannot list its keys") || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("count on memcache printed %q; want one line saying it cannot list its keys", r.stderr)
				}
				sessionstoreCmd(t, "list", u).want(t, exitFailed)
				sessionstoreCmd(t, "revoke", "-all", "-yes", u).want(t, exitFailed)
			} else {
				total := sessionstoreCmd(t, "count", u).want(t, exitOK).stdout
				// 5 sessions, 2 owners' indexes, the raw record.
				if total != "8\n" {
					t.Errorf("count printed %q; want 8", total)
				}
				if got := sessionstoreCmd(t, "count", "-sessions", u).want(t, exitOK).stdout; got != "5\n" {
					t.Errorf("count -sessions printed %q; want 5", got)
				}
				rows := listJSON(t, u)
				owners := map[string]string{}
				for _, r := range rows {
					if r.Session {
						owners[r.Key] = r.Owner
					} else if r.Key == "raw-record" && (r.Size != 1 || !r.Expiry.Equal(expiry)) {
						t.Errorf("raw record listed as %+v; want size 1, expiry %v", r, expiry)
					}
				}
				want := map[string]string{alice[0]: "alice", alice[1]: "alice", bob: "bob", anon[0]: "", anon[1]: ""}
				if len(owners) != len(want) {
					t.Errorf("list found sessions %v; want %v", owners, want)
				}
				for k, o := range want {
					if got, ok := owners[k]; !ok || got != o {
						t.Errorf("list: session %s owner %q (listed %v); want %q", k, got, ok, o)
					}
				}
				table := sessionstoreCmd(t, "list", "-limit", "3", u).want(t, exitOK).stdout
				if !strings.HasPrefix(table, "KEY ") || !strings.HasSuffix(table, "(stopped at -limit 3)\n") {
					t.Errorf("list -limit 3 printed:\n%s", table)
				}
			}

			out := sessionstoreCmd(t, "list", "-owner", "alice", u).want(t, exitOK).stdout
			if !strings.HasSuffix(out, "2 sessions of alice\n") || !strings.Contains(out, `{"agent":"test"}`) {
				t.Errorf("list -owner alice printed:\n%s", out)
			}
			// A store key may start with a dash: keys go after --. A key
			// naming no session fails the command, after the others are
			// revoked.
			r := sessionstoreCmd(t, "revoke", u, "--", bob, "missing-key").want(t, exitFailed)
			if r.stdout != "revoked 1 session\n" || r.stderr != "sessionstore revoke: no session with key missing-key (list shows the keys)\n" {
				t.Errorf("revoke of bob's session and a missing key printed %q, %q", r.stdout, r.stderr)
			}
			if _, found, _ := st.Load(t.Context(), bob); found {
				t.Errorf("bob's session is still stored after revoke")
			}
			if list, err := m.SessionsOf(t.Context(), "bob"); err != nil || len(list) != 0 {
				t.Errorf("SessionsOf(bob) = %v, %v after revoke; want none", list, err)
			}
			r = sessionstoreCmd(t, "revoke", "-owner", "alice", "-handle", "nosuchhandle", u).want(t, exitFailed)
			if r.stderr != "sessionstore revoke: alice has no live session with handle nosuchhandle (list -owner alice shows the handles)\n" {
				t.Errorf("revoke of a missing handle printed %q", r.stderr)
			}
			out = sessionstoreCmd(t, "revoke", "-owner", "alice", u).want(t, exitOK).stdout
			if out != "revoked 2 sessions of alice\n" {
				t.Errorf("revoke -owner alice printed %q", out)
			}
			r = sessionstoreCmd(t, "revoke", "-owner", "alice", u).want(t, exitFailed)
			if r.stdout != "" || r.stderr != "sessionstore revoke: no live session of owner alice\n" {
				t.Errorf("revoke -owner of an owner with no session printed %q, %q", r.stdout, r.stderr)
			}
			for _, k := range alice {
				if _, found, _ := st.Load(t.Context(), k); found {
					t.Errorf("alice's session %s is still stored", k)
				}
			}
			if b.iterates {
				out = sessionstoreCmd(t, "revoke", u, "-all", "-yes").want(t, exitOK).stdout
				if !strings.HasPrefix(out, "revoked all ") {
					t.Errorf("revoke -all printed %q", out)
				}
				if got := sessionstoreCmd(t, "count", u).want(t, exitOK).stdout; got != "0\n" {
					t.Errorf("count after revoke -all printed %q; want 0", got)
				}
			}
		})
	}
}

func listJSON(t *testing.T, u string) []row {
	t.Helper()
	out := sessionstoreCmd(t, "list", "-json", u).want(t, exitOK).stdout
	var rows []row
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r row
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("list -json: %v in\n%s", err, out)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestErrors checks the one-line errors and exit statuses of bad command
// lines, malformed URLs, servers that do not answer and a missing table.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, ""},
		{[]string{"frobnicate"}, exitUsage, `sessionstore: unknown command "frobnicate"; run sessionstore -h for the list`},
		{[]string{"count"}, exitUsage, "sessionstore count: want one URL, got 0 arguments; run sessionstore count -h for usage"},
		{[]string{"count", "-bogus", "memory"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"revoke", "memory"}, exitUsage, "want the keys to revoke after the URL, or -all, or -owner"},
		{[]string{"revoke", "-all", "-owner", "x", "memory"}, exitUsage, "-all takes a URL only"},
		{[]string{"count", "bogus://u:secret@x"}, exitUsage, `sessionstore count: store bogus://u:xxxxx@x: unknown scheme "bogus"; see the accepted forms with -h`},
		{[]string{"list", "redis://h:6379/0?prefix="}, exitUsage, "empty prefix parameter"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := sessionstoreCmd(t, tc.args...).want(t, tc.code)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
			}
			if tc.args != nil && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q is not one line", r.stderr)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr %q shows the password", r.stderr)
			}
		})
	}

	t.Run("no server", func(t *testing.T) {
		addr := testservers.ClosedAddr(t)
		for _, u := range []string{"redis://" + addr + "/0", "postgres://u:secret@" + addr + "/db", "mongodb://" + addr, "memcache://" + addr} {
			start := time.Now()
			r := sessionstoreCmd(t, "count", "-timeout", "2s", u).want(t, exitConnect)
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("count %s took %v with -timeout 2s", u, took)
			}
			if !strings.Contains(r.stderr, ": ping: ") || !strings.Contains(r.stderr, "host:port") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("count %s printed %q; want one line naming the ping and what to try", u, r.stderr)
			}
		}
	})

	t.Run("hung server", func(t *testing.T) {
		// A listener that never answers: the command must give up at its
		// -timeout.
		ln := hangingListener(t)
		start := time.Now()
		r := sessionstoreCmd(t, "count", "-timeout", "1s", "redis://"+ln+"/0").want(t, exitConnect)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("count took %v with -timeout 1s", took)
		}
		want := "sessionstore count: store redis://" + ln + "/0: ping: " + ln + " accepted the connection but did not answer as Redis within 1s; is host:port right?"
		if !strings.HasPrefix(r.stderr, want) {
			t.Errorf("stderr %q does not say %q", r.stderr, want)
		}
	})

	t.Run("missing table and database", func(t *testing.T) {
		// The servers here trust every password; storeurl's tests check
		// the hint of a refused one.
		_, srv := pgtest.New(t)
		if os.Getenv(pgtest.URLEnv) != "" {
			t.Skip("runs against the container's server only")
		}
		u := "postgres://postgres:postgres@" + srv.Addr + "/postgres?table=" + unique()
		r := sessionstoreCmd(t, "count", u).want(t, exitConnect)
		if !strings.Contains(r.stderr, "read table") || !strings.Contains(r.stderr, "check the table name") {
			t.Errorf("count of a missing table printed %q", r.stderr)
		}
		r = sessionstoreCmd(t, "count", "postgres://postgres:postgres@"+srv.Addr+"/nosuchdb").want(t, exitConnect)
		if !strings.Contains(r.stderr, "check the database name") {
			t.Errorf("count of a missing database printed %q", r.stderr)
		}
	})
}

// TestHelp checks that every command prints its usage with -h, exit 0.
func TestHelp(t *testing.T) {
	r := sessionstoreCmd(t, "-h").want(t, exitOK)
	for _, c := range commands() {
		if !strings.Contains(r.stdout, "sessionstore "+c.name) {
			t.Errorf("sessionstore -h does not list %s", c.name)
		}
		h := sessionstoreCmd(t, c.name, "-h").want(t, exitOK)
		if !strings.HasPrefix(h.stdout, "usage: sessionstore "+c.name+" ") || !strings.Contains(h.stdout, "-timeout") {
			t.Errorf("%s -h printed:\n%s", c.name, h.stdout)
		}
	}
	if !slices.ContainsFunc(strings.Split(r.stdout, "\n"), func(l string) bool { return strings.Contains(l, "Exit status") }) {
		t.Errorf("sessionstore -h does not document the exit status")
	}
}
