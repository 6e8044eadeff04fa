package testservers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sessionstore/sessionstore/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// childEnv marks the test binary run by TestNoEngine as the child that asks for a server.
const childEnv = "TESTSERVERS_TEST_CHILD"

var fakeSpec = &testservers.Spec{
	Name:         "fake",
	ImageEnv:     "SESSIONSTORE_FAKE_IMAGE",
	DefaultImage: "fake:1",
	URLEnv:       "SESSIONSTORE_FAKE_URL",
	Port:         "1/tcp",
	Ping:         func(context.Context, string) error { return errors.New("never started") },
}

// TestNoEngine runs the test binary again with DOCKER_HOST pointing nowhere and checks that
// asking for a server skips with one line saying what to do, or fails under CI=true.
func TestNoEngine(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		testservers.Start(t, fakeSpec)
		t.Error("Start returned without a Docker engine")
		return
	}
	tests := []struct {
		ci       string
		wantFail bool
		wantLine string
	}{
		{ci: "", wantFail: false, wantLine: "--- SKIP: TestNoEngine"},
		{ci: "false", wantFail: false, wantLine: "--- SKIP: TestNoEngine"},
		{ci: "true", wantFail: true, wantLine: "--- FAIL: TestNoEngine"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestNoEngine$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"=1", "CI="+tt.ci,
				"DOCKER_HOST=unix:///nonexistent/docker.sock")
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Fatalf("child failed: %v, want %v; output:\n%s", err, tt.wantFail, out)
			}
			for _, want := range []string{tt.wantLine, "fake: no Docker engine", "run ./scripts/test", "set SESSIONSTORE_FAKE_URL"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestExternalServerSkipsFaults checks that the fault controls skip, rather than fail, when
// the tests point at a server of the user's (no container to stop).
func TestExternalServerSkipsFaults(t *testing.T) {
	s := testservers.External("localhost:1")
	for name, op := range map[string]func(testing.TB){"Stop": s.Stop, "Start": s.Start, "Pause": s.Pause, "Unpause": s.Unpause} {
		t.Run(name, func(t *testing.T) {
			r := &skipRecorder{TB: t}
			done := make(chan struct{})
			go func() { // Skip ends the goroutine that calls it, as testing does
				defer close(done)
				op(r)
			}()
			<-done
			if r.skipped == "" {
				t.Fatalf("%s returned on an external server instead of skipping", name)
			}
			if !strings.Contains(r.skipped, "localhost:1") {
				t.Errorf("%s skipped with %q: want the server's address named", name, r.skipped)
			}
		})
	}
}

// skipRecorder is a testing.TB that records a skip instead of skipping the
// test that runs it.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *skipRecorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *skipRecorder) SkipNow() { r.Skip("SkipNow") }
