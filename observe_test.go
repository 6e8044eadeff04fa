package sessionstore_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// recorder is an Observer that writes down what it sees.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

type stepKey struct{}

func (r *recorder) Begin(ctx context.Context, step sessionstore.Step) (context.Context, func(error)) {
	r.add("begin " + step.String())
	return context.WithValue(ctx, stepKey{}, step), func(err error) {
		r.add(fmt.Sprintf("end %s err=%v", step, err != nil))
	}
}

func (r *recorder) Event(ctx context.Context, e sessionstore.Event) {
	if step, ok := ctx.Value(stepKey{}).(sessionstore.Step); ok {
		r.add(fmt.Sprintf("%s in %s", e, step))
		return
	}
	r.add(e.String())
}

func (r *recorder) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := strings.Join(r.lines, "; ")
	r.lines = nil
	return out
}

func TestObserverSeesStepsAndEvents(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	rec := &recorder{}
	m.Observer = rec
	m.Logger, _ = logBuffer()
	c := serve(t, m, app)
	for _, tc := range []struct{ path, want string }{
		{"/read", ""}, // no cookie, no change: nothing to observe
		{"/put?k=a&v=1", "begin save; created in save; end save err=false"},
		{"/read", "begin open; end open err=false"},
		{"/renew", "begin open; end open err=false; begin save; renewed in save; end save err=false"},
		{"/destroy", "begin open; end open err=false; begin save; destroyed in save; end save err=false"},
	} {
		c.get(tc.path)
		if got := rec.take(); got != tc.want {
			t.Errorf("GET %s: observed %q, want %q", tc.path, got, tc.want)
		}
	}
	c.setCookie(strings.Repeat("A", 43))
	c.get("/read")
	if got := rec.take(); got != "begin open; expired in open; end open err=false" {
		t.Errorf("an unknown id: observed %q", got)
	}
	c.setCookie("")
	c.get("/put?k=a&v=1")
	rec.take()
	spy.fail(errInjected, nil)
	c.do("GET", "/read")
	spy.fail(nil, nil)
	if got := rec.take(); got != "begin open; end open err=true" {
		t.Errorf("a failed load: observed %q", got)
	}
	if err := m.Revoke(context.Background(), sessionstore.HashID(c.cookie())); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); got != "revoked" {
		t.Errorf("Revoke: observed %q", got)
	}
}

// TestObserverSeesConflictsAndDrops: a swap lost to another Manager (a second
// process) is a conflict; a change dropped after a concurrent destroy is a drop.
func TestObserverSeesConflictsAndDrops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ other, want string }{
		{"/put?k=b&v=2", "conflict"},
		{"/destroy", "dropped"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			rec := &recorder{}
			m.Observer = rec
			opened, release := make(chan struct{}), make(chan struct{})
			c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/held" {
					sessionstore.FromContext(r.Context()).Put("a", "1")
					close(opened)
					<-release
				}
				app(w, r)
			})
			c.get("/put?k=x&v=0")
			done := make(chan struct{})
			go func() { defer close(done); c.do("GET", "/held") }()
			<-opened
			c.get(tc.other)
			rec.take()
			close(release)
			<-done
			if got := rec.take(); !slices.Contains(strings.Split(got, "; "), tc.want+" in save") {
				t.Errorf("observed %q, want %s", got, tc.want)
			}
		})
	}
}
