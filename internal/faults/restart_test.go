package faults_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// The environment of the application process TestRestartMidSave starts:
// which backend and server, the name of its store, and where to die.
const (
	childEnv     = "SESSIONSTORE_FAULTS_CHILD" // the target's name
	childAddrEnv = "SESSIONSTORE_FAULTS_ADDR"
	childNameEnv = "SESSIONSTORE_FAULTS_NAME"
	childKillEnv = "SESSIONSTORE_FAULTS_KILL" // "save" or "swap": the first such call that succeeds
)

// killStore wraps a versioned store: once the first call of the chosen kind
// has written, it tells the parent on stdout and never returns, so that the
// parent kills the process between the store write and the response.
type killStore struct {
	sessionstore.Store
	sw   sessionstore.Swapper
	kill string
	once atomic.Bool
}

func (s *killStore) written(err error) {
	if err == nil && s.once.CompareAndSwap(false, true) {
		fmt.Println("WRITTEN")
		select {} // until SIGKILL
	}
}

func (s *killStore) Save(ctx context.Context, id string, data []byte, exp time.Time) error {
	err := s.Store.Save(ctx, id, data, exp)
	if s.kill == "save" {
		s.written(err)
	}
	return err
}

func (s *killStore) CompareAndSwap(ctx context.Context, id string, version uint64, data []byte, exp time.Time) (bool, error) {
	ok, err := s.sw.CompareAndSwap(ctx, id, version, data, exp)
	if s.kill == "swap" && ok {
		s.written(err)
	}
	return ok, err
}

// TestRestartChild is the application TestRestartMidSave kills: it serves
// on a loopback port, prints "LISTEN addr", and dies where told.
func TestRestartChild(t *testing.T) {
	backend := os.Getenv(childEnv)
	if backend == "" {
		t.Skip("run by TestRestartMidSave")
	}
	var tg target
	for _, c := range restartTargets() {
		if c.name == backend {
			tg = c
		}
	}
	st, _ := tg.open(t, os.Getenv(childAddrEnv), nil, os.Getenv(childNameEnv), 4)
	a := newApp(t, &killStore{Store: st, sw: st.(sessionstore.Swapper), kill: os.Getenv(childKillEnv)}, linkDeadline)
	fmt.Println("LISTEN", a.srv.URL)
	select {} // until SIGKILL
}

// An application killed between the store write and the response (a crash,
// an OOM kill, a deploy that does not drain) leaves its client with the
// session it had before the request or the one the request wrote, never a
// cookie naming a record that was never written: the cookie is only sent
// once the write succeeded. The client of a killed request keeps its old
// cookie, and what that cookie now opens is checked through a new
// application over the same store.
func TestRestartMidSave(t *testing.T) {
	// In parallel with the other tests of this package but TestFlakyLinks,
	// which counts the goroutines of the process alone, before them.
	t.Parallel()
	if testing.Short() {
		t.Skip("starts and kills application processes")
	}
	exe, err := os.Executable()
	must(t, "os.Executable", err)
	cases := []struct {
		name, path, kill string
		seeded           bool   // the client has a session before the request
		want             string // what the old cookie opens afterwards: "old", "new", "none"
	}{
		// The swap was written, the answer lost: the client's cookie names
		// the same record, which holds the new data.
		{name: "update, killed after the swap", path: "/inc", kill: "swap", seeded: true, want: "new"},
		// A new session was written and no cookie sent: the client has
		// none; the record is an orphan that expires.
		{name: "create, killed after the save", path: "/seed", kill: "save", want: "none"},
		// A login saves the renewed session under its new key, then makes
		// the old key forward to it. Killed between the two, the old
		// session is intact.
		{name: "login, killed after the new record", path: "/login", kill: "save", seeded: true, want: "old"},
		// Killed after the forward: the old id opens no session (it never
		// grants the renewed one: that would undo the renewal's protection
		// against session fixation). The client is logged out, not let in.
		{name: "login, killed after the forward", path: "/login", kill: "swap", seeded: true, want: "none"},
		// A logout deleted the record: the old cookie opens nothing.
		{name: "logout, killed after the delete", path: "/logout", kill: "swap", seeded: true, want: "none"},
	}
	for _, tg := range restartTargets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			addr, _ := tg.server(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					name := unique("restart")
					st, closeStore := tg.open(t, addr, nil, name, 4)
					defer closeStore()
					after := newApp(t, st, linkDeadline) // the application as it restarts
					defer after.close()
					cookie := ""
					if c.seeded {
						cookie = after.seed(t)
					}

					cmd := exec.Command(exe, "-test.run=^TestRestartChild$")
					cmd.Env = append(os.Environ(), childEnv+"="+tg.name, childAddrEnv+"="+addr,
						childNameEnv+"="+name, childKillEnv+"="+c.kill)
					out, err := cmd.StdoutPipe()
					must(t, "StdoutPipe", err)
					cmd.Stderr = os.Stderr
					must(t, "start the application", cmd.Start())
					defer func() {
						cmd.Process.Kill()
						cmd.Wait()
					}()
					lines := make(chan string)
					go func() {
						sc := bufio.NewScanner(out)
						for sc.Scan() {
							lines <- sc.Text()
						}
						close(lines)
					}()
					url := ""
					select {
					case l := <-lines:
						url, _ = strings.CutPrefix(l, "LISTEN ")
					case <-time.After(30 * time.Second):
						t.Fatal("the application did not start in 30 s")
					}

					// The request, killed between the write and the response.
					child := &app{m: after.m, c: &http.Client{}, deadline: linkDeadline}
					done := make(chan reply, 1)
					go func() { done <- child.getURL(url+c.path, cookie) }()
					select {
					case l := <-lines:
						if l != "WRITTEN" {
							t.Fatalf("the application said %q", l)
						}
					case rp := <-done:
						t.Fatalf("the request ended before its write: %d %q %v", rp.status, rp.body, rp.err)
					case <-time.After(30 * time.Second):
						t.Fatal("the application wrote nothing in 30 s")
					}
					must(t, "SIGKILL", cmd.Process.Kill())
					rp := <-done
					if rp.err == nil {
						t.Fatalf("the killed request was answered: %d %q cookie %q", rp.status, rp.body, rp.cookie)
					}

					// The client keeps its old cookie (if any): what does it open?
					if cookie == "" {
						if c.want != "none" {
							t.Fatalf("a client without a cookie cannot have the %s session", c.want)
						}
						return
					}
					got := after.get("/read", cookie)
					if got.err != nil || got.status != http.StatusOK {
						t.Fatalf("reading after the restart: %d %q %v", got.status, got.body, got.err)
					}
					var n int64
					var isNew bool
					var user string
					fmt.Sscanf(got.body, "n=%d new=%t user=%s", &n, &isNew, &user)
					var state string
					switch {
					case isNew:
						state = "none"
					case c.path == "/inc" && n == 1, c.path == "/login" && user == "alice":
						state = "new"
					case n == 0 && user == "":
						state = "old"
					default:
						t.Fatalf("the old cookie opens %q: neither the old session nor the new one", got.body)
					}
					if state != c.want {
						t.Errorf("the old cookie opens the %s session (%q), want the %s one", state, got.body, c.want)
					}
				})
			}
		})
	}
}
