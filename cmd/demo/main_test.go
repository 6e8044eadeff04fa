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
	srv := httptest.NewServer(newApp(sessionstore.New(st)))
	defer srv.Close()
	walkLoginFlow(t, srv.URL, storedIn(t, st))
}

// walkLoginFlow visits the demo at base as one browser: two visits, a wrong
// password, a login, the session page and a logout, checking each page.
// stored, when not nil, reports whether the demo's store holds a key; the
// walk then checks that the record is where the session page says and that
// login and logout leave no old record behind.
func walkLoginFlow(t *testing.T, base string, stored func(key string) bool) {
	t.Helper()
	b := newBrowser(t, base)

	mustContain(t, "the first visit", b.get("/"), "<strong>1</strong> time in")
	mustContain(t, "the second visit", b.get("/"), "<strong>2</strong> times")
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
	mustContain(t, "the page after login", b.get("/"), "Welcome, ann.", "Hello, ann.", "<strong>3</strong> times")
	info := b.get("/session")
	mustContain(t, "the session page", info, "user", "&#34;ann&#34;", "visits", "permanent=false", "new=false")
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
	mustContain(t, "the page after logout", home, "You are logged out.", "<strong>1</strong> time in")
	if strings.Contains(home, "ann") {
		t.Error("the user survived logout")
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

// storedIn returns a stored function for walkLoginFlow that asks st.
func storedIn(t *testing.T, st sessionstore.Store) func(key string) bool {
	return func(key string) bool {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, ok, err := st.Load(ctx, key)
		if err != nil {
			t.Fatalf("load %s: %v", key, err)
		}
		return ok
	}
}

func TestRememberMeMakesAPermanentCookie(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(sessionstore.New(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	res := b.post("/login", url.Values{"user": {"bo"}, "password": {"demo"}, "remember": {"on"}})
	for _, c := range res.Cookies() {
		if c.Name == "session" && c.MaxAge > 0 {
			return
		}
	}
	t.Errorf("Set-Cookie %q: want a Max-Age", res.Header.Values("Set-Cookie"))
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(sessionstore.New(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	form := url.Values{"user": {"eve"}, "password": {"demo"}}
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		if res := b.post("/login", form, hdr...); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /login with %s: %s, want 403", hdr, res.Status)
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
	mustContain(t, "the home page", newBrowser(t, d.url).get("/"), "<strong>1</strong>")
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
	var usage strings.Builder
	if err := run(context.Background(), []string{"-h"}, &usage); err != nil {
		t.Errorf("-h: %v, want nil", err)
	}
	for form := range strings.Lines(acceptedStores) {
		if !strings.Contains(usage.String(), strings.TrimSpace(form)) {
			t.Errorf("the usage text lacks %q:\n%s", form, usage.String())
		}
	}
}
