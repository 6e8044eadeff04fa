package faults_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// The application of TestRestartMidSave, run by its parent: it
		// starts no server of its own, and is killed rather than ending.
		os.Exit(m.Run())
	}
	testservers.Main(m)
}

// app is the application under test: a Manager serving real HTTP, every
// request under a server-side deadline, as a production server sets one.
type app struct {
	m        *sessionstore.Manager
	srv      *httptest.Server
	c        *http.Client
	deadline time.Duration
	inflight sync.WaitGroup // handlers running
}

// padSize is the size of a value every seeded session holds, so that a
// Load moves enough bytes for a throttled link to matter.
const padSize = 4096

func newApp(t testing.TB, st sessionstore.Store, deadline time.Duration) *app {
	t.Helper()
	a := &app{m: sessionstore.New(st), deadline: deadline}
	a.m.Logger = slog.New(slog.DiscardHandler) // the 500s are counted, not logged
	mux := http.NewServeMux()
	mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Put("pad", strings.Repeat("x", padSize))
		s.Put("n", int64(0))
	})
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Update("n", func(old any) any { n, _ := old.(int64); return n + 1 })
		w.WriteHeader(http.StatusOK) // saves the session
		fmt.Fprintf(w, "dropped=%v", s.Dropped())
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.RenewID()
		s.Put("user", "alice")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Destroy()
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		v, _ := s.Get("n")
		n, _ := v.(int64)
		fmt.Fprintf(w, "n=%d new=%v user=%s", n, s.IsNew(), s.GetString("user"))
	})
	h := a.m.Handler(mux)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inflight.Add(1)
		defer a.inflight.Done()
		ctx, cancel := context.WithTimeout(r.Context(), a.deadline)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	a.c = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return a
}

// close stops the server and drops the client's idle connections.
func (a *app) close() {
	a.srv.Close()
	a.c.CloseIdleConnections()
}

// clientSlack is how much longer than the server's deadline a client waits
// for an answer: a request still unanswered then is a hang.
const clientSlack = 5 * time.Second

// reply is what a client saw of one request.
type reply struct {
	status int
	body   string
	cookie string // the session cookie set, if any
	took   time.Duration
	err    error
}

// ok reports whether the request was acknowledged: a 200 whose changes were
// saved.
func (r reply) ok() bool {
	return r.err == nil && r.status == http.StatusOK && !strings.Contains(r.body, "dropped=true")
}

func (a *app) get(path, cookie string) reply { return a.getURL(a.srv.URL+path, cookie) }

// getURL is get of a full URL, of this application or another one.
func (a *app) getURL(url, cookie string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), a.deadline+clientSlack)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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
			rp.cookie = c.Value
		}
	}
	return rp
}

// seed starts a session over a healthy link and returns its cookie.
func (a *app) seed(t testing.TB) string {
	t.Helper()
	rp := a.get("/seed", "")
	if !rp.ok() || rp.cookie == "" {
		t.Fatalf("seeding a session: %d %q cookie %q %v", rp.status, rp.body, rp.cookie, rp.err)
	}
	return rp.cookie
}

var counterRE = regexp.MustCompile(`^n=(\d+) `)

// counter reads the session's counter; the link must be healthy.
func (a *app) counter(t testing.TB, cookie string) int64 {
	t.Helper()
	rp := a.get("/read", cookie)
	m := counterRE.FindStringSubmatch(rp.body)
	if rp.err != nil || rp.status != http.StatusOK || m == nil {
		t.Fatalf("reading a counter: %d %q %v", rp.status, rp.body, rp.err)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// waitIdle waits until no handler runs: a handler whose client gave up may
// still be saving.
func (a *app) waitIdle(t testing.TB, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { a.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("handlers still running %v after the last client went away", limit)
	}
}
