package storewrap

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

// recorder is a Wrapper that records which methods were called on it.
type recorder struct{ calls []string }

func (r *recorder) Load(context.Context, string) (sessionstore.Record, bool, error) {
	r.calls = append(r.calls, "Load")
	return sessionstore.Record{}, false, nil
}

func (r *recorder) Save(context.Context, string, []byte, time.Time) error {
	r.calls = append(r.calls, "Save")
	return nil
}

func (r *recorder) Delete(context.Context, string) error {
	r.calls = append(r.calls, "Delete")
	return nil
}

func (r *recorder) Touch(context.Context, string, time.Time) (bool, error) {
	r.calls = append(r.calls, "Touch")
	return false, nil
}

func (r *recorder) CompareAndSwap(context.Context, string, uint64, []byte, time.Time) (bool, error) {
	r.calls = append(r.calls, "CompareAndSwap")
	return false, nil
}

func (r *recorder) Iterate(context.Context, func(string, sessionstore.Record) bool) error {
	r.calls = append(r.calls, "Iterate")
	return nil
}

func (r *recorder) Count(context.Context) (int, error) {
	r.calls = append(r.calls, "Count")
	return 0, nil
}

func (r *recorder) Close() error {
	r.calls = append(r.calls, "Close")
	return nil
}

// callAll calls every method s implements, Store methods first, and returns
// their names in the order called.
func callAll(s sessionstore.Store) []string {
	ctx := context.Background()
	s.Load(ctx, "id")
	s.Save(ctx, "id", nil, time.Time{})
	s.Delete(ctx, "id")
	called := []string{"Load", "Save", "Delete"}
	if t, ok := s.(sessionstore.Toucher); ok {
		t.Touch(ctx, "id", time.Time{})
		called = append(called, "Touch")
	}
	if sw, ok := s.(sessionstore.Swapper); ok {
		sw.CompareAndSwap(ctx, "id", 1, nil, time.Time{})
		called = append(called, "CompareAndSwap")
	}
	if it, ok := s.(sessionstore.Iterator); ok {
		it.Iterate(ctx, func(string, sessionstore.Record) bool { return true })
		called = append(called, "Iterate")
	}
	if c, ok := s.(sessionstore.Counter); ok {
		c.Count(ctx)
		called = append(called, "Count")
	}
	if c, ok := s.(io.Closer); ok {
		c.Close()
		called = append(called, "Close")
	}
	return called
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNewKeepsExactlyTheCapabilities checks every one of the 32 sets: the
// store New returns implements exactly the capabilities of the store it
// wraps, each method reaches the Wrapper and never the wrapped store, and the
// same holds for a wrapper of a wrapper.
func TestNewKeepsExactlyTheCapabilities(t *testing.T) {
	for c := Capabilities(0); c <= All; c++ {
		t.Run(c.String(), func(t *testing.T) {
			innerRec := &recorder{}
			inner := fakeStore(c, innerRec)
			if got := CapabilitiesOf(inner); got != c {
				t.Fatalf("the fake store has %v, want %v", got, c)
			}
			w := &recorder{}
			s := New(inner, w)
			if got := CapabilitiesOf(s); got != c {
				t.Fatalf("New over a store with %v has %v", c, got)
			}
			called := callAll(s)
			if !equal(w.calls, called) {
				t.Errorf("the Wrapper got %v, want %v", w.calls, called)
			}
			if len(innerRec.calls) > 0 {
				t.Errorf("the wrapped store was called directly: %v", innerRec.calls)
			}
			if got, ok := Of(s); !ok || got != w {
				t.Errorf("Of = %v, %v; want the Wrapper", got, ok)
			}
			if u := s.(interface{ Unwrap() sessionstore.Store }).Unwrap(); u != inner {
				t.Errorf("Unwrap = %v, want the wrapped store", u)
			}

			w2 := &recorder{}
			s2 := New(s, w2)
			if got := CapabilitiesOf(s2); got != c {
				t.Fatalf("New over New over a store with %v has %v", c, got)
			}
			if called := callAll(s2); !equal(w2.calls, called) {
				t.Errorf("the outer Wrapper got %v, want %v", w2.calls, called)
			}
		})
	}
}

func TestOfAStoreNewDidNotMake(t *testing.T) {
	if w, ok := Of(fakeStore(All, &recorder{})); ok || w != nil {
		t.Fatalf("Of = %v, %v; want nil, false", w, ok)
	}
}

func TestCapabilitiesString(t *testing.T) {
	for c, want := range map[Capabilities]string{
		0:                  "none",
		Toucher:            "Touch",
		Swapper | Closer:   "CompareAndSwap+Close",
		All:                "Touch+CompareAndSwap+Iterate+Count+Close",
		Iterator | Counter: "Iterate+Count",
	} {
		if got := c.String(); got != want {
			t.Errorf("%08b.String() = %q, want %q", uint8(c), got, want)
		}
	}
}

// noop is a Wrapper whose methods do nothing and allocate nothing.
type noop struct{}

func (noop) Load(context.Context, string) (sessionstore.Record, bool, error) {
	return sessionstore.Record{}, false, nil
}
func (noop) Save(context.Context, string, []byte, time.Time) error { return nil }
func (noop) Delete(context.Context, string) error                  { return nil }
func (noop) Touch(context.Context, string, time.Time) (bool, error) {
	return false, nil
}
func (noop) CompareAndSwap(context.Context, string, uint64, []byte, time.Time) (bool, error) {
	return false, nil
}
func (noop) Iterate(context.Context, func(string, sessionstore.Record) bool) error { return nil }
func (noop) Count(context.Context) (int, error)                                    { return 0, nil }
func (noop) Close() error                                                          { return nil }

// TestForwardingAllocatesNothing: the generated types add a call, never an
// allocation.
func TestForwardingAllocatesNothing(t *testing.T) {
	s := New(fakeStore(All, noop{}), noop{})
	ctx := context.Background()
	data := []byte("data")
	exp := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		s.Load(ctx, "id")
		s.Save(ctx, "id", data, exp)
		s.Delete(ctx, "id")
		s.(sessionstore.Toucher).Touch(ctx, "id", exp)
		s.(sessionstore.Swapper).CompareAndSwap(ctx, "id", 1, data, exp)
		s.(sessionstore.Counter).Count(ctx)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round of calls, want 0", allocs)
	}
}

// TestGeneratedFilesAreCurrent fails when gen.go changed and go generate was
// not run.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "gen.go", "-dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, out)
	}
	for _, name := range []string{"storewrap_gen.go", "storewrap_gen_test.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what gen.go writes: run go generate ./internal/storewrap/", name)
		}
	}
}
