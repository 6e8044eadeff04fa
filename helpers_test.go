package sessionstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// clock is a settable time shared by a Manager and its memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// spyStore wraps a memory store, with every capability, counting calls and
// failing them on demand.
type spyStore struct {
	*memory.Store
	loads, saves, deletes, touches, swaps atomic.Int64
	failLoad, failSave                    atomic.Pointer[error]
}

var errInjected = errors.New("injected store failure")

func (s *spyStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	s.loads.Add(1)
	if e := s.failLoad.Load(); e != nil {
		return sessionstore.Record{}, false, *e
	}
	return s.Store.Load(ctx, id)
}

func (s *spyStore) Save(ctx context.Context, id string, data []byte, exp time.Time) error {
	s.saves.Add(1)
	if e := s.failSave.Load(); e != nil {
		return *e
	}
	return s.Store.Save(ctx, id, data, exp)
}

func (s *spyStore) Delete(ctx context.Context, id string) error {
	s.deletes.Add(1)
	if e := s.failSave.Load(); e != nil {
		return *e
	}
	return s.Store.Delete(ctx, id)
}

func (s *spyStore) Touch(ctx context.Context, id string, exp time.Time) (bool, error) {
	s.touches.Add(1)
	if e := s.failSave.Load(); e != nil {
		return false, *e
	}
	return s.Store.Touch(ctx, id, exp)
}

func (s *spyStore) CompareAndSwap(ctx context.Context, id string, v uint64, data []byte, exp time.Time) (bool, error) {
	s.swaps.Add(1)
	if e := s.failSave.Load(); e != nil {
		return false, *e
	}
	return s.Store.CompareAndSwap(ctx, id, v, data, exp)
}

// writes counts the calls that write.
func (s *spyStore) writes() int64 {
	return s.saves.Load() + s.deletes.Load() + s.touches.Load() + s.swaps.Load()
}

func (s *spyStore) fail(load, save error) {
	if load != nil {
		s.failLoad.Store(&load)
	} else {
		s.failLoad.Store(nil)
	}
	if save != nil {
		s.failSave.Store(&save)
	} else {
		s.failSave.Store(nil)
	}
}

// plainStore has the three Store methods and no capability: last writer wins.
type plainStore struct{ s *memory.Store }

func (p plainStore) Load(ctx context.Context, id string) (sessionstore.Record, bool, error) {
	return p.s.Load(ctx, id)
}
func (p plainStore) Save(ctx context.Context, id string, data []byte, exp time.Time) error {
	return p.s.Save(ctx, id, data, exp)
}
func (p plainStore) Delete(ctx context.Context, id string) error { return p.s.Delete(ctx, id) }

// newMemory returns a memory store on clk (the real clock when nil), closed
// at the end of the test.
func newMemory(t testing.TB, clk *clock) *memory.Store {
	t.Helper()
	opts := memory.Options{}
	if clk != nil {
		opts.Now = clk.Now
	}
	st := memory.New(opts)
	t.Cleanup(func() { st.Close() })
	return st
}

// newSpy returns a Manager over a spyStore over a memory store.
func newSpy(t testing.TB, clk *clock) (*sessionstore.Manager, *spyStore) {
	t.Helper()
	spy := &spyStore{Store: newMemory(t, clk)}
	m := sessionstore.New(spy)
	if clk != nil {
		sessionstore.SetClock(m, clk.Now)
	}
	return m, spy
}

// client is an HTTP client with a cookie jar talking to one test server.
type client struct {
	t   testing.TB
	srv *httptest.Server
	c   *http.Client
}

// serve starts a server running h behind m.Handler, and a client for it.
func serve(t testing.TB, m *sessionstore.Manager, h http.HandlerFunc) *client {
	t.Helper()
	return newClient(t, newServer(t, m.Handler(h)))
}

// newServer starts a test server, closed at the end of the test.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newTLSServer starts a TLS test server, closed at the end of the test.
func newTLSServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t testing.TB, srv *httptest.Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := new(http.Client)
	*c = *srv.Client() // a copy: srv.Client() returns one shared client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, srv: srv, c: c}
}

// do sends a request and returns the response with its body read.
func (c *client) do(method, path string, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return res, string(body)
}

// get is do("GET", path) expecting 200.
func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	res, body := c.do("GET", path)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s %q", path, res.Status, body)
	}
	return res, body
}

// cookie returns the value of the session cookie in the jar, "" if none.
func (c *client) cookie() string {
	c.t.Helper()
	u, _ := url.Parse(c.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a session cookie of the given value in the jar.
func (c *client) setCookie(v string) {
	u, _ := url.Parse(c.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: v, Path: "/"}})
}

// sessionCookie returns the Set-Cookie of the session cookie in res.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == "session" {
			return ck
		}
	}
	return nil
}

// count returns the number of stored sessions.
func count(t testing.TB, st sessionstore.Store) int {
	t.Helper()
	n, err := sessionstore.Count(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hasVaryCookie reports whether res varies on Cookie.
func hasVaryCookie(res *http.Response) bool {
	for _, v := range res.Header.Values("Vary") {
		if strings.Contains(v, "Cookie") {
			return true
		}
	}
	return false
}
