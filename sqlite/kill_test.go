package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/sqlite"
)

// killChildEnv, when set in the environment of the test binary, makes
// TestKilledMidSave the child: it saves in a loop until it is killed.
// Its value is "SYNCHRONOUS PATH".
const killChildEnv = "SESSIONSTORE_SQLITE_KILL_CHILD"

// killWriters is how many goroutines of the child save at once, so that the
// kill lands while saves are in flight, some waiting for the write lock.
const killWriters = 4

// killData is the data saved under id n: its size varies up to 64 KiB, so a
// commit spans many pages of the log, and its bytes name n, so a torn or
// misplaced write shows.
func killData(n int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%08d", n)), 1+(n*37)%8192)
}

// A process killed with SIGKILL in the middle of saving loses nothing it
// acknowledged: the child prints the number of each save after Save
// returned nil, and after the kill every printed save is in the file, whole.
// Checked with both synchronous settings: a process kill leaves the log in
// the operating system's cache, so NORMAL keeps the saves too.
func TestKilledMidSave(t *testing.T) {
	if v := os.Getenv(killChildEnv); v != "" {
		mode, path, _ := strings.Cut(v, " ")
		killChild(mode, path)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, mode := range []string{sqlite.SynchronousFull, sqlite.SynchronousNormal} {
		t.Run(mode, func(t *testing.T) {
			for round := range 3 {
				path := filepath.Join(t.TempDir(), "killed.db")
				acked, lastOut := runAndKill(t, mode, path, time.Duration(150+100*round)*time.Millisecond)
				if len(acked) == 0 {
					t.Fatalf("round %d: the child acknowledged no save before the kill; its output ended %q", round, lastOut)
				}
				s := openPath(t, path, sqlite.Options{})
				ctx := context.Background()
				for _, n := range acked {
					rec, found, err := s.Load(ctx, fmt.Sprint("k", n))
					if err != nil || !found {
						t.Fatalf("round %d: save %d was acknowledged before the kill, then found %v, err %v", round, n, found, err)
					}
					if !bytes.Equal(rec.Data, killData(n)) {
						t.Fatalf("round %d: save %d: %d bytes differ from the %d saved", round, n, len(rec.Data), len(killData(n)))
					}
				}
				count, err := s.Count(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("round %d: %d saves acknowledged before the kill, all found; %d in the file (saves in flight may or may not be)", round, len(acked), count)
			}
		})
	}
}

// runAndKill starts the child saving into path, kills it with SIGKILL once
// it has run for after, and returns the saves it acknowledged.
func runAndKill(t *testing.T, mode, path string, after time.Duration) (acked []int, last string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidSave$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+mode+" "+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var started bool
	for !started && lines.Scan() { // the store is open and saving
		started = lines.Text() == "started"
	}
	if !started {
		cmd.Wait()
		t.Fatal("the child did not start")
	}
	timer := time.AfterFunc(after, func() { cmd.Process.Kill() })
	defer timer.Stop()
	// Everything the child wrote before it died is in the pipe.
	for lines.Scan() {
		last = lines.Text()
		if n, ok := strings.CutPrefix(last, "ack "); ok {
			i, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("child wrote %q", last)
			}
			acked = append(acked, i)
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.String() != "signal: killed" {
		t.Fatalf("child ended with %v, not by the kill", err)
	}
	return acked, last
}

// killChild opens the store at path and saves from killWriters goroutines
// until the process is killed, writing "ack N" once save N returned nil.
func killChild(mode, path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: mode, CleanupInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var (
		mu   sync.Mutex
		next int
	)
	fmt.Println("started")
	var wg sync.WaitGroup
	for range killWriters {
		wg.Go(func() {
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				if err := s.Save(ctx, fmt.Sprint("k", n), killData(n), time.Now().Add(time.Hour)); err != nil {
					fmt.Fprintln(os.Stderr, "child: save:", err)
					os.Exit(2)
				}
				// os.Stdout is unbuffered: the line is in the pipe when
				// Println returns.
				fmt.Println("ack", n)
			}
		})
	}
	wg.Wait()
}
