package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

// TestMain routes the tests through testservers.Main, which terminates the
// database containers the backend tests start.
func TestMain(m *testing.M) { testservers.Main(m) }

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, string(body)
}

func (b *browser) get(path string) string {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	res, body := b.do(req)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %s", path, res.Status)
	}
	return body
}

// post submits a form and returns the response; hdr are extra header pairs.
func (b *browser) post(path string, form url.Values, hdr ...string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, _ := b.do(req)
	return res
}

// count presses the counter's button.
func (b *browser) count() {
	b.t.Helper()
	if res := b.post("/count", nil); res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("POST /count: %s", res.Status)
	}
}

func (b *browser) sessionID() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not show %q:\n%s", what, w, body)
		}
	}
}

func TestLoginFlow(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	walkLoginFlow(t, srv.URL, storedIn(t, st))
}

// walkLoginFlow visits the demo at base as one browser: the pages of a new
// visitor, two counted visits, a wrong password, a login, the session page
// and a logout, checking each page.
// stored, when not nil, reports whether the demo's store holds a key; the
// walk then checks that the record is where the session page says and that
// login and logout leave no old record behind.
func walkLoginFlow(t *testing.T, base string, stored func(key string) bool) {
	t.Helper()
	b := newBrowser(t, base)

	mustContain(t, "a new visitor's home page", b.get("/"), `<p class="big">0</p>`, "You have no session")
	mustContain(t, "a new visitor's session page", b.get("/session"), "You have no session yet")
	if b.sessionID() != "" {
		t.Fatal("reading pages gave a new visitor a session cookie")
	}
	b.count()
	mustContain(t, "the first visit", b.get("/"), `<p class="big">1</p>`, "Your click created a session")
	b.count()
	mustContain(t, "the second visit", b.get("/"), `<p class="big">2</p>`, "Your click changed the session")
	before := b.sessionID()

	if res := b.post("/login", url.Values{"user": {"ann"}, "password": {"wrong"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("wrong password: %s", res.Status)
	}
	mustContain(t, "the login page after a wrong password", b.get("/login"), "Wrong user name or password")
	if b.sessionID() != before {
		t.Error("a failed login changed the session id")
	}

	if res := b.post("/login", url.Values{"user": {"ann"}, "password": {"demo"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", res.Status)
	}
	if id := b.sessionID(); id == before || id == "" {
		t.Error("login did not renew the session id")
	}
	mustContain(t, "the page after login", b.get("/"), "Welcome, ann.", "Hello, ann.", `<p class="big">2</p>`,
		"Logging in renewed the session id", "browser-session cookie")
	info := b.get("/session")
	mustContain(t, "the session page", info, "<th>user</th>", "&#34;ann&#34; <span class=\"hint\">(string)</span>",
		"<th>visits</th><td>2 <span class=\"hint\">(int)</span>", "(time.Time)", "until the browser closes")
	if strings.Contains(info, "time.Date(") {
		t.Error("the session page shows a time in Go syntax")
	}
	if strings.Contains(info, b.sessionID()) {
		t.Error("the session page shows the id itself")
	}
	key := storeKey(b.sessionID())
	mustContain(t, "the session page", info, key)
	if stored != nil {
		if !stored(key) {
			t.Errorf("the store holds no record under the session's key %s", key)
		}
		if stored(storeKey(before)) {
			t.Error("the record of the id before login is still in the store")
		}
	}

	if res := b.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", res.Status)
	}
	home := b.get("/")
	mustContain(t, "the page after logout", home, "You are logged out.", `<p class="big">0</p>`,
		"Logging out destroyed the session", "this response deletes it")
	if strings.Contains(home, "ann") {
		t.Error("the user survived logout")
	}
	if id := b.sessionID(); id != "" {
		t.Errorf("the page that took the logout messages left the cookie %q", id)
	}
	if stored != nil && stored(key) {
		t.Error("the record of the logged-out session is still in the store")
	}
}

// storeKey is the key the Manager stores the session of id under.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// storedIn returns a stored function for walkLoginFlow that asks st
// whether a session is stored under a key (the old id of a renewed session
// keeps a short forward, which is no session).
func storedIn(t *testing.T, st sessionstore.Store) func(key string) bool {
	m := newManager(st)
	return func(key string) bool {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, ok, err := m.Lookup(ctx, key)
		if err != nil {
			t.Fatalf("load %s: %v", key, err)
		}
		return ok
	}
}

// TestRememberMe checks that a remembered login's cookie lasts exactly as
// long as its session, and that the pages say so.
func TestRememberMe(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.count()
	created := time.Now()
	res := b.post("/login", url.Values{"user": {"bo"}, "password": {"demo"}, "remember": {"on"}})
	var maxAge int
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			maxAge = c.MaxAge
		}
	}
	// The session began at the first count; RenewID keeps that time.
	if want := sessionLifetime - time.Since(created); maxAge <= 0 || time.Duration(maxAge)*time.Second > sessionLifetime ||
		(time.Duration(maxAge)*time.Second-want).Abs() > 5*time.Second {
		t.Errorf("Set-Cookie %q: want a Max-Age of about %v, the session's remaining lifetime", res.Header.Values("Set-Cookie"), want)
	}
	mustContain(t, "the page after a remembered login", b.get("/"), "“Remember me” made the cookie permanent",
		"the moment the session ends")
	mustContain(t, "the session page", b.get("/session"), "(permanent: “remember me”)")
	mustContain(t, "the login form", b.get("/login"), "expires when the session does, 12 hours after it began")
}

// TestReadingCreatesNoSession sends what crawlers send, to every page and to
// paths the demo does not serve: no response sets a cookie and the store
// stays empty. A HEAD request does not even take flash messages.
func TestReadingCreatesNoSession(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	for _, method := range []string{"GET", "HEAD"} {
		for _, path := range []string{"/", "/login", "/session", "/count", "/logout", "/nope", "/robots.txt"} {
			req, _ := http.NewRequest(method, srv.URL+path, nil)
			res, _ := b.do(req)
			if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
				t.Errorf("%s %s set %q", method, path, c)
			}
		}
	}
	if n, err := sessionstore.Count(context.Background(), st); err != nil || n != 0 {
		t.Errorf("the store holds %d sessions (%v) after reading pages, want 0", n, err)
	}

	// A flash message waiting: HEAD leaves it, GET takes it.
	b.post("/login", url.Values{"user": {"x"}, "password": {"wrong"}})
	req, _ := http.NewRequest("HEAD", srv.URL+"/login", nil)
	if res, _ := b.do(req); len(res.Header.Values("Set-Cookie")) > 0 {
		t.Errorf("HEAD /login set %q", res.Header.Values("Set-Cookie"))
	}
	mustContain(t, "the login page after a HEAD", b.get("/login"), "Wrong user name or password")
}

// TestErrorPages checks that unknown paths and methods get the demo's own
// pages, with the right status.
func TestErrorPages(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	for _, tc := range []struct {
		method, path string
		status       int
		allow, want  string
	}{
		{"GET", "/nope", http.StatusNotFound, "", "The demo has no page at /nope."},
		{"GET", "/logout", http.StatusMethodNotAllowed, "POST", "it changes the session, so it is a POST"},
		{"GET", "/count", http.StatusMethodNotAllowed, "POST", "it changes the session, so it is a POST"},
		{"POST", "/session", http.StatusMethodNotAllowed, "GET, HEAD", "this page is only read"},
		{"DELETE", "/login", http.StatusMethodNotAllowed, "GET, HEAD, POST", "the login form is read with GET"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, body := b.do(req)
		if res.StatusCode != tc.status || res.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %s, Allow %q; want %d, Allow %q", tc.method, tc.path, res.Status, res.Header.Get("Allow"), tc.status, tc.allow)
		}
		mustContain(t, tc.method+" "+tc.path, body, "<!doctype html>", "What is happening", tc.want)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	form := url.Values{"user": {"eve"}, "password": {"demo"}}
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		res, body := b.do(req)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /login with %s: %s, want 403", hdr, res.Status)
		}
		mustContain(t, "the 403 page", body, "<title>Cross-origin request refused", "SameSite=Lax")
		if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("a refused POST set %q", c)
		}
	}
	if res := b.post("/login", form, "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST /login: %s, want 303", res.Status)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	d := startDemo(t)
	if !strings.Contains(d.banner, "(store: memory)") || !strings.HasPrefix(d.url, "http://localhost:") {
		t.Errorf("first line %q: want the store and the URL", d.banner)
	}
	mustContain(t, "the home page", newBrowser(t, d.url).get("/"), `<p class="big">0</p>`)
	if out, err := d.stop(); err != nil || out != "stopped\n" {
		t.Errorf("run printed %q and returned %v after its context ended, want \"stopped\" and nil", out, err)
	}
}

// demo is one run of the demo started by startDemo.
type demo struct {
	url    string // where it serves
	banner string // the first line it printed
	// stop ends the run and returns what it printed after the banner and
	// what run returned.
	stop func() (string, error)
}

// startDemo runs the demo with args on a free port of 127.0.0.1 and returns
// once it serves. The run is stopped when the test ends, if not before.
func startDemo(t *testing.T, args ...string) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
		done <- err
	}()
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("the demo did not start: %v", <-done)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		rest <- string(b)
	}()
	d := &demo{banner: strings.TrimSpace(line)}
	d.stop = sync.OnceValues(func() (string, error) {
		cancel()
		select {
		case err := <-done:
			return <-rest, err
		case <-time.After(2*shutdownTimeout + 5*time.Second):
			return "", errors.New("run did not return after its context ended")
		}
	})
	t.Cleanup(func() { d.stop() })
	_, d.url, _ = strings.Cut(d.banner, " on ")
	if !strings.HasPrefix(d.url, "http://") {
		t.Fatalf("first line %q: want the URL", d.banner)
	}
	return d
}

func TestStoreFlag(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", "sqlite://x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "accepted forms:") {
		t.Errorf("-store sqlite://x: %v, want an error listing the accepted forms", err)
	}
	if err := run(context.Background(), []string{"-bogus"}, io.Discard); err == nil {
		t.Error("an unknown flag was accepted")
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "memory"}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `unexpected argument "memory"`) {
		t.Errorf("an extra argument: %v, want an error naming it", err)
	}
	var usage strings.Builder
	if err := run(context.Background(), []string{"-h"}, &usage); err != nil {
		t.Errorf("-h: %v, want nil", err)
	}
	if first, _, _ := strings.Cut(usage.String(), "\n"); !strings.HasPrefix(first, "demo: a small web app") {
		t.Errorf("-h starts with %q, want a line saying what the program is", first)
	}
	for form := range strings.Lines(acceptedStores) {
		if !strings.Contains(usage.String(), strings.TrimSpace(form)) {
			t.Errorf("the usage text lacks %q:\n%s", form, usage.String())
		}
	}
}
