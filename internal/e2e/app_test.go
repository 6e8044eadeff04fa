package e2e_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// requestTimeout bounds every request of these tests, as a server's
// deadline would: a save that cannot finish in it fails.
const requestTimeout = 30 * time.Second

// app is the application under test. Every handler that changes the session
// writes the header itself, which saves the session, then reports in its
// body whether the save dropped its changes (see Session.Dropped).
type app struct {
	m   *sessionstore.Manager
	srv *httptest.Server
	c   *http.Client

	// gate, when set, is called by the writing handlers once their session
	// is open and before they change it, so a test can line up requests that
	// all opened the session before any of them saves.
	gate func()
}

func newApp(t testing.TB, st sessionstore.Store) *app {
	t.Helper()
	a := &app{m: sessionstore.New(st)}
	mux := http.NewServeMux()
	write := func(path string, change func(s *sessionstore.Session, r *http.Request)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s := sessionstore.FromContext(r.Context())
			s.Len() // opens nothing new: the session was loaded before the handler
			if a.gate != nil {
				a.gate()
			}
			change(s, r)
			w.WriteHeader(http.StatusOK) // saves the session
			fmt.Fprintf(w, "dropped=%v", s.Dropped())
		})
	}
	write("/put", func(s *sessionstore.Session, r *http.Request) { s.Put(r.URL.Query().Get("k"), "v") })
	write("/inc", func(s *sessionstore.Session, _ *http.Request) {
		s.Update("n", func(old any) any { n, _ := old.(int64); return n + 1 })
	})
	write("/login", func(s *sessionstore.Session, _ *http.Request) { s.RenewID(); s.Put("user", "alice") })
	write("/logout", func(s *sessionstore.Session, _ *http.Request) { s.Destroy() })
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		vals := s.Values()
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			fmt.Fprintf(w, "%s=%v;", k, vals[k])
		}
	})
	ownerRoutes(a, mux)
	a.srv = httptest.NewServer(a.m.Handler(mux))
	t.Cleanup(a.srv.Close)
	a.c = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	t.Cleanup(a.c.CloseIdleConnections)
	return a
}

// reply is what a client saw of one response.
type reply struct {
	status  int
	cookies []*http.Cookie // Set-Cookie of the session cookie
	body    string
	took    time.Duration
	err     error
}

// get sends GET path with the session cookie value (none when "").
func (a *app) get(path, cookie string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.srv.URL+path, nil)
	if err != nil {
		return reply{err: err}
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: a.m.Cookie.Name, Value: cookie})
	}
	start := time.Now()
	res, err := a.c.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	rp := reply{status: res.StatusCode, body: string(body), err: err, took: time.Since(start)}
	for _, c := range res.Cookies() {
		if c.Name == a.m.Cookie.Name {
			rp.cookies = append(rp.cookies, c)
		}
	}
	return rp
}

// mustGet is get that fails the test unless the answer is 200.
func (a *app) mustGet(t testing.TB, path, cookie string) reply {
	t.Helper()
	rp := a.get(path, cookie)
	if rp.err != nil || rp.status != http.StatusOK {
		t.Fatalf("GET %s: %d %q %v", path, rp.status, rp.body, rp.err)
	}
	return rp
}

// seed starts a session holding start=v and returns its cookie value.
func (a *app) seed(t testing.TB) string {
	t.Helper()
	rp := a.mustGet(t, "/put?k=start", "")
	if len(rp.cookies) != 1 || rp.cookies[0].Value == "" {
		t.Fatalf("seeding a session set cookies %v, want one", rp.cookies)
	}
	return rp.cookies[0].Value
}

// liveSessions counts the stored sessions through the Manager, or returns -1
// when the store cannot iterate (memcached).
func (a *app) liveSessions(t testing.TB) int {
	t.Helper()
	if _, ok := a.m.Store.(sessionstore.Iterator); !ok {
		return -1
	}
	n := 0
	if err := a.m.Iterate(t.Context(), func(sessionstore.StoredSession) bool { n++; return true }); err != nil {
		t.Fatalf("Iterate: %v", err)
	}
	return n
}

// concurrently sends every path at once with the same cookie and returns the
// replies in the order of paths.
func (a *app) concurrently(paths []string, cookie string) []reply {
	replies := make([]reply, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { replies[i] = a.get(p, cookie) })
	}
	wg.Wait()
	return replies
}

// barrier returns a gate that holds each of n callers until all n arrived.
func barrier(n int) func() {
	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		<-all
	}
}

// backends are every backend, with a Redis Cluster.
func backends() []backendtest.Backend { return backendtest.WithCluster() }

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func numbered(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func summarize(replies []reply) string {
	counts := map[string]int{}
	for _, rp := range replies {
		key := fmt.Sprint(rp.status)
		if rp.err != nil {
			key = rp.err.Error()
		}
		if len(rp.cookies) > 0 {
			key += "+cookie"
		}
		counts[key]++
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%s×%d ", k, counts[k])
	}
	return b.String()
}
