package sessionstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

func TestConcurrentRequestsKeepEachOthersKeys(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/put?k=start&v=1")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { c.get(fmt.Sprintf("/put?k=k%03d&v=%d", i, i)) })
	}
	wg.Wait()
	_, body := c.get("/read")
	if n := strings.Count(body, ";"); n != 101 {
		t.Errorf("%d keys survived, want 101: %s", n, body)
	}
}

func TestConcurrentUpdatesAllCount(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/put?k=start&v=1")
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { c.get("/inc") })
	}
	wg.Wait()
	if _, body := c.get("/read"); !strings.Contains(body, "n=100;") {
		t.Errorf("read %q, want n=100", body)
	}
}

// TestMergeOnConflict holds request A after its change, runs request B to
// the end, then lets A save: A's compare-and-swap fails and its changes are
// applied again on top of B's record.
func TestMergeOnConflict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, setup, a, b, want string
	}{
		{"different keys both survive", "/put?k=x&v=0", "/put?k=a&v=1", "/put?k=b&v=2", "a=1;b=2;x=0;"},
		{"same key: the later save wins", "/put?k=x&v=0", "/put?k=x&v=A", "/put?k=x&v=B", "x=A;"},
		{"updates both count", "/put?k=x&v=0", "/inc", "/inc", "n=2;x=0;"},
		{"delete is applied again", "/put?k=x&v=0", "/del?k=y", "/put?k=y&v=1", "x=0;"},
		{"clear is applied again", "/put?k=x&v=0", "/clear", "/put?k=y&v=1", ""},
		{"flashes taken are only the ones seen", "/flash?c=i&m=old", "/flashes", "/flash?c=i&m=new", "i:new;"},
		{"a change after a concurrent Destroy is dropped", "/put?k=x&v=0", "/put?k=a&v=1", "/destroy", ""},
		{"RenewID merges a concurrent change", "/put?k=x&v=0", "/renew", "/put?k=y&v=1", "x=0;y=1;"},
		{"RenewID after a concurrent Destroy leaves nothing", "/put?k=x&v=0", "/renew", "/destroy", ""},
		{"a login after a concurrent logout is dropped", "/put?k=x&v=0", "/renew-put", "/destroy", ""},
		{"a change is merged into a concurrent renewal", "/put?k=x&v=0", "/put?k=a&v=1", "/renew", "a=1;x=0;"},
		{"a Destroy is carried into a concurrent renewal", "/put?k=x&v=0", "/destroy", "/renew-put", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, spy := newSpy(t, nil)
			changed, release := make(chan struct{}), make(chan struct{})
			c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				if rest, ok := strings.CutPrefix(r.URL.Path, "/hold"); ok {
					// app's output waits, or writing it would save.
					r.URL.Path = rest
					rec := httptest.NewRecorder()
					app(rec, r)
					close(changed)
					<-release
					w.Write(rec.Body.Bytes())
					return
				}
				app(w, r)
			})
			c.get(tc.setup)
			doneA := make(chan struct{})
			go func() {
				defer close(doneA)
				c.get("/hold" + tc.a)
			}()
			<-changed
			c.get(tc.b)
			close(release)
			<-doneA
			wantLoads := int64(3)
			if strings.Contains(tc.b, "renew") {
				wantLoads = 4 // the reload finds a forward and follows it
			}
			if n := spy.loads.Load(); n != wantLoads {
				t.Errorf("%d loads, want %d: A's open, B's open, A's reload after its lost swap", n, wantLoads)
			}
			path := "/read"
			if strings.HasPrefix(tc.want, "i:") {
				path = "/flashes"
			}
			if _, body := c.get(path); body != tc.want {
				t.Errorf("%s %q, want %q", path, body, tc.want)
			}
		})
	}
}

// conflictStore never wins a compare-and-swap.
type conflictStore struct{ *spyStore }

func (conflictStore) CompareAndSwap(context.Context, string, uint64, []byte, time.Time) (bool, error) {
	return false, nil
}

// TestEndlessConflictsEndWithTheRequest: a save that keeps losing its swap
// (to other processes) retries until the request's context ends, then fails
// with an error wrapping both ErrConflict and the context's error.
func TestEndlessConflictsEndWithTheRequest(t *testing.T) {
	t.Parallel()
	_, spy := newSpy(t, nil)
	m := sessionstore.New(conflictStore{spy})
	var errs errorLog
	m.ErrorHandler = errs.handler
	const deadline = 200 * time.Millisecond
	c := newClient(t, newServer(t, timeout(deadline, m.Handler(http.HandlerFunc(app)))))
	c.get("/put?k=a&v=1") // a new session is saved without a swap
	start := time.Now()
	res, _ := c.do("GET", "/put?k=b&v=2")
	took := time.Since(start)
	e := errs.take()
	if res.StatusCode != http.StatusInternalServerError || len(e) != 1 ||
		!errors.Is(e[0], sessionstore.ErrConflict) || !errors.Is(e[0], context.DeadlineExceeded) {
		t.Fatalf("got %s, errors %v; want 500 and an error wrapping ErrConflict and DeadlineExceeded", res.Status, e)
	}
	if took < deadline {
		t.Errorf("gave up after %v, before the request's deadline of %v", took, deadline)
	}
	if n := spy.loads.Load(); n < 1+5 {
		t.Errorf("%d loads, want the open and a reload after each of many lost swaps", n)
	}
}

// timeout gives each request a context that ends after d, as a server's
// deadline would.
func timeout(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func TestLastWriterWinsWithoutSwapper(t *testing.T) {
	t.Parallel()
	mem := newMemory(t, nil)
	m := sessionstore.New(plainStore{mem})
	changed, release := make(chan struct{}), make(chan struct{})
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			sessionstore.FromContext(r.Context()).Put("a", "1")
			close(changed)
			<-release
			return
		}
		app(w, r)
	})
	c.get("/put?k=x&v=0")
	done := make(chan struct{})
	go func() { defer close(done); c.get("/hold") }()
	<-changed
	c.get("/put?k=b&v=2")
	close(release)
	<-done
	if _, body := c.get("/read"); body != "a=1;x=0;" {
		t.Errorf("read %q: want the documented last-writer-wins a=1;x=0;", body)
	}
}

// gatedStore holds its first CompareAndSwap until released, so that the
// requests arriving meanwhile all queue behind it.
type gatedStore struct {
	*spyStore
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) CompareAndSwap(ctx context.Context, id string, v uint64, data []byte, exp time.Time) (bool, error) {
	g.gate()
	return g.spyStore.CompareAndSwap(ctx, id, v, data, exp)
}

// gate holds the first swap until released.
func (g *gatedStore) gate() {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
}

// TestConcurrentSavesShareOneSwap: the saves of one session that queue while
// another is being written are written together by one compare-and-swap, and
// every change counts.
func TestConcurrentSavesShareOneSwap(t *testing.T) {
	t.Parallel()
	_, spy := newSpy(t, nil)
	g := &gatedStore{spyStore: spy, entered: make(chan struct{}), release: make(chan struct{})}
	m := sessionstore.New(g)
	c := serve(t, m, app)
	c.get("/put?k=x&v=0")
	key := sessionstore.HashID(c.cookie())
	const n = 50
	var wg sync.WaitGroup
	wg.Go(func() { c.get("/inc") }) // its swap is held
	<-g.entered
	swapsBefore, loadsBefore := spy.swaps.Load(), spy.loads.Load()
	for range n - 1 {
		wg.Go(func() { c.get("/inc") })
	}
	for deadline := time.Now().Add(10 * time.Second); sessionstore.Queued(m, key) < n-1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d saves queued behind the held swap, want %d", sessionstore.Queued(m, key), n-1)
		}
	}
	close(g.release)
	wg.Wait()
	if _, body := c.get("/read"); !strings.Contains(body, fmt.Sprintf("n=%d;", n)) {
		t.Errorf("read %q, want n=%d", body, n)
	}
	// The held swap, then one swap for the 49 that queued, after one load:
	// the records they opened are out of date.
	if swaps, loads := spy.swaps.Load()-swapsBefore, spy.loads.Load()-loadsBefore-(n-1)-1; swaps != 2 || loads != 1 {
		t.Errorf("%d swaps and %d reloads for %d concurrent saves, want 2 and 1", swaps, loads, n)
	}
}

// TestDroppedTellsTheApplication: a request whose session was destroyed by
// another request after it opened it stores nothing, sets no cookie and
// sees Dropped; one whose session was renewed meanwhile is merged and sets
// no cookie.
func TestDroppedTellsTheApplication(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		other        string
		wantDropped  bool
		wantRead     string
		wantSessions int
	}{
		{"/destroy", true, "", 0},
		{"/renew", false, "a=1;x=0;", 1},
	} {
		t.Run(tc.other, func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			opened, release := make(chan struct{}), make(chan struct{})
			c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/held" {
					app(w, r)
					return
				}
				s := sessionstore.FromContext(r.Context())
				s.Put("a", "1")
				close(opened)
				<-release
				w.WriteHeader(http.StatusOK) // saves
				fmt.Fprintf(w, "dropped=%v", s.Dropped())
			})
			c.get("/put?k=x&v=0")
			old := c.cookie()
			done := make(chan *http.Response)
			go func() { res, body := c.do("GET", "/held"); res.Header.Set("X-Body", body); done <- res }()
			<-opened
			c.get(tc.other)
			close(release)
			res := <-done
			if got := res.Header.Get("X-Body"); got != fmt.Sprintf("dropped=%v", tc.wantDropped) {
				t.Errorf("held request says %q, want dropped=%v", got, tc.wantDropped)
			}
			if sc := res.Header.Get("Set-Cookie"); sc != "" {
				t.Errorf("held request set a cookie: %q", sc)
			}
			if _, body := c.get("/read"); body != tc.wantRead {
				t.Errorf("read %q with the cookie after %s, want %q", body, tc.other, tc.wantRead)
			}
			if n := countSessions(t, m); n != tc.wantSessions {
				t.Errorf("%d sessions stored, want %d", n, tc.wantSessions)
			}
			c.setCookie(old)
			if _, body := c.get("/read"); body != "" {
				t.Errorf("the old id reads %q, want nothing", body)
			}
		})
	}
}

// countSessions counts the sessions m's store holds, without forwards.
func countSessions(t testing.TB, m *sessionstore.Manager) int {
	t.Helper()
	n := 0
	if err := m.Iterate(context.Background(), func(sessionstore.StoredSession) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}
