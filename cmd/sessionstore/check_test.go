package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers/mongotest"
	"github.com/sessionstore/sessionstore/internal/testservers/mysqltest"
	"github.com/sessionstore/sessionstore/internal/testservers/pgtest"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/memory"
)

// TestCheck runs check against each backend's server: every rule passes or
// is skipped for a capability the backend lacks, and nothing is left in
// the server. (storetest's own tests show that RunSuite, which check
// prints, fails the rule each broken store breaks.)
func TestCheck(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := b.url(t)
			args := []string{"check", u}
			if b.name == "mongodb" {
				// FerretDB on SQLite, the stand-in for MongoDB here, can
				// keep a database's connection in a broken state after a
				// request cut at its deadline, and then fail every later
				// collection creation in that database ("interrupted",
				// "database is locked"): seen in 2 of 3 runs. check puts
				// every rule in one database, so these rules are left out
				// here; the mongo package's own suite proves them on
				// FerretDB, a database per store.
				args = []string{"check", "-skip", ferretDeadlineRules, u}
			}
			if b.name == "sqlite" {
				// check opens a store per rule, each creating its table
				// in the one file, all at once, and SQLite runs one
				// write at a time (a schema change also makes every
				// connection read the schema again): under the race
				// detector the writes queue past the 300 ms these two
				// rules give a record to be read back after its Save
				// (seen in 3 of 3 runs, also with the 4 MiB rules
				// skipped; not seen without -race, and they pass run
				// alone). The sqlite package's own suite proves them, a
				// file per store. The IDs and Context groups (70 of the
				// 174 rules, each another table in the file) are left out
				// too: with them the package's tests passed go test's
				// 10-minute limit on a loaded 2-core machine; the same
				// suite proves them in package sqlite.
				args = []string{"check", "-skip", sqliteSkippedRules, u}
			}
			r := sessionstoreCmd(t, args...)
			if r.code != exitOK || !strings.Contains(r.stdout, " 0 failed") {
				t.Fatalf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if n := len(lines); n < 100 {
				t.Errorf("check printed %d lines; want a line per rule", n)
			}
			// What was not checked reads as an operator's sentence, not
			// as the suite's words to a test author.
			if strings.Contains(r.stdout, "SKIP") || strings.Contains(r.stdout, "Harness") || !strings.Contains(r.stdout, "\nnot checked") {
				t.Errorf("check printed skips in the suite's words, or none:\n%s", r.stdout)
			}
			if (b.name == "mongodb" || b.name == "sqlite") && !strings.Contains(lines[len(lines)-1], "left out by -run or -skip") {
				t.Errorf("summary %q does not say rules were left out", lines[len(lines)-1])
			}
			t.Log(lines[len(lines)-1])
			if left := leftovers(t, b.name, u, "sessionstore_check_"); len(left) > 0 {
				t.Errorf("check left %q behind", left)
			}
		})
	}
}

// sqliteSkippedRules matches the rules TestCheck leaves out on SQLite: those
// that read a 300 ms record back right after saving it, which one SQLite
// file busy with a hundred new tables cannot always do under the race
// detector, and the IDs and Context groups, for time.
const sqliteSkippedRules = "the version of an expired record writes nothing|^IDs/|^Context/"

// ferretDeadlineRules matches the rules that cut requests at their deadline
// while FerretDB serves them.
const ferretDeadlineRules = "failing as its deadline passes during the call"

// TestCheckSelectsRules runs check with -run and -skip: only the rules
// kept print, the summary counts those left out, a pattern that keeps none
// fails and a bad pattern is a usage error.
func TestCheckSelectsRules(t *testing.T) {
	all := sessionstoreCmd(t, "check", "-v", "memory")
	if all.code != exitOK || strings.Contains(all.stdout, "left out") {
		t.Fatalf("check memory: exit %d:\n%s", all.code, all.stdout)
	}

	for _, tc := range []struct {
		args []string
		want func(rule string) bool
	}{
		{[]string{"-run", "^Touch/"}, func(r string) bool { return strings.HasPrefix(r, "Touch/") }},
		{[]string{"-skip", "context|Context"}, func(r string) bool { return !strings.Contains(strings.ToLower(r), "context") }},
		{[]string{"-run", "^(Load|Save)/", "-skip", "expir"}, func(r string) bool {
			return (strings.HasPrefix(r, "Load/") || strings.HasPrefix(r, "Save/")) && !strings.Contains(r, "expir")
		}},
	} {
		r := sessionstoreCmd(t, append(append([]string{"check", "-v"}, tc.args...), "memory")...)
		rules := ruleLines(r.stdout)
		if r.code != exitOK || len(rules) == 0 {
			t.Errorf("check %q: exit %d, %d rules:\n%s%s", tc.args, r.code, len(rules), r.stdout, r.stderr)
			continue
		}
		var wantN int
		for _, rule := range ruleLines(all.stdout) {
			if tc.want(rule) {
				wantN++
			}
		}
		for _, rule := range rules {
			if !tc.want(rule) {
				t.Errorf("check %q ran %q", tc.args, rule)
			}
		}
		summary := fmt.Sprintf(": %s passed, 0 failed, %d not checked, the others left out by -run or -skip", pl(wantN-skipped(rules, all.stdout), "rule"), skipped(rules, all.stdout))
		if len(rules) != wantN || !strings.Contains(r.stdout, summary) {
			t.Errorf("check %q ran %d rules, want %d, and a summary saying %q:\n%s", tc.args, len(rules), wantN, summary, r.stdout)
		}
	}

	if r := sessionstoreCmd(t, "check", "-run", "no such rule", "memory"); r.code != exitFailed || !strings.Contains(r.stderr, "no rule left to run") {
		t.Errorf("check -run matching nothing: exit %d, stderr %q; want exit %d, no rule left", r.code, r.stderr, exitFailed)
	}
	if r := sessionstoreCmd(t, "check", "-skip", "(", "memory"); r.code != exitUsage || !strings.Contains(r.stderr, "-skip") {
		t.Errorf("check -skip '(': exit %d, stderr %q; want exit %d naming -skip", r.code, r.stderr, exitUsage)
	}
}

// skipped counts the rules that out printed as skipped.
func skipped(rules []string, out string) int {
	n := 0
	for _, rule := range rules {
		if strings.Contains(out, "SKIP  "+rule) {
			n++
		}
	}
	return n
}

// ruleLines returns the names of the rules check printed.
func ruleLines(out string) []string {
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		for _, status := range []string{"PASS  ", "FAIL  ", "SKIP  "} {
			if rule, ok := strings.CutPrefix(line, status); ok {
				rules = append(rules, rule)
			}
		}
	}
	return rules
}

// leftovers lists what namespaces starting with pattern left in the
// backend's server.
func leftovers(t *testing.T, backend, u, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	switch backend {
	case "redis":
		c, _ := redistest.New(t)
		keys, err := c.Keys(ctx, pattern+"*").Result()
		if err != nil && err != goredis.Nil {
			t.Fatal(err)
		}
		return keys
	case "redis-cluster":
		c, _ := redistest.NewCluster(t)
		var mu sync.Mutex
		var keys []string
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			k, err := node.Keys(ctx, pattern+"*").Result()
			mu.Lock()
			defer mu.Unlock()
			keys = append(keys, k...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	case "postgres":
		pool, _ := pgtest.New(t)
		rows, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE tablename LIKE $1", pattern+"%")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		return names
	case "mysql":
		db, _ := mysqltest.New(t)
		rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ?",
			mysqltest.Database, pattern+"%")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		return names
	case "mongodb":
		// check used the URL's database, the one mongotest gave this test.
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		db, _ := mongotest.New(t)
		names, err := db.Client().Database(strings.TrimPrefix(pu.Path, "/")).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, n := range names {
			if strings.HasPrefix(n, pattern) {
				left = append(left, n)
			}
		}
		return left
	}
	return nil // memcached cannot list its keys; check deletes what it wrote
}

// TestCheckReportsBrokenStore runs check over stores that break one rule
// each: the command prints the rule as failed with the suite's message,
// summarises the failure and exits 1.
func TestCheckReportsBrokenStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(sessionstore.Store) sessionstore.Store
		rule string
	}{
		{"fails to delete a missing id", func(s sessionstore.Store) sessionstore.Store {
			return deleteMissingFails{s.(*memory.Store)}
		}, "Delete/missing id is not an error"},
		{"hides Touch", func(s sessionstore.Store) sessionstore.Store {
			return noTouch{s.(*memory.Store)}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut strings.Builder
			code := runWith(t.Context(), []string{"check", "memory"}, streams{stdout: &out, stderr: &errOut}, tc.wrap)
			if tc.rule == "" {
				// A store without Touch: its rules are not checked, not failed.
				if code != exitOK || !strings.Contains(out.String(), "\nnot checked: the Touch rules; the memory store does not implement sessionstore.Toucher, an optional capability\n") {
					t.Errorf("exit %d:\n%s%s", code, out.String(), errOut.String())
				}
				return
			}
			if code != exitFailed {
				t.Errorf("exit %d; want %d", code, exitFailed)
			}
			lines := strings.Split(out.String(), "\n")
			i := slices.Index(lines, "FAIL  "+tc.rule)
			if i < 0 || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "      Delete of a missing id = no such id") {
				t.Errorf("check did not print %q with the suite's message after it:\n%s", tc.rule, out.String())
			}
			if !strings.Contains(out.String(), "\nFAIL  memory: ") || !regexp.MustCompile(`^sessionstore check: \d+ rules failed\n$`).MatchString(errOut.String()) {
				t.Errorf("summary:\n%s\nstderr %q", out.String(), errOut.String())
			}
		})
	}
}

// deleteMissingFails breaks rule 3: deleting a missing id is an error.
type deleteMissingFails struct{ *memory.Store }

func (s deleteMissingFails) Delete(ctx context.Context, id string) error {
	if _, found, err := s.Load(ctx, id); err == nil && !found {
		return errors.New("no such id")
	}
	return s.Store.Delete(ctx, id)
}

// noTouch is a memory store without Touch.
type noTouch struct{ s *memory.Store }

func (n noTouch) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	rec, found, err := n.s.Load(ctx, id)
	rec.Version = 0 // versions belong to Swapper, which noTouch hides too
	return rec, found, err
}

func (n noTouch) Save(ctx context.Context, id string, data []byte, expiry time.Time) error {
	return n.s.Save(ctx, id, data, expiry)
}

func (n noTouch) Delete(ctx context.Context, id string) error { return n.s.Delete(ctx, id) }
