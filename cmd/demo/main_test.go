package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

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
	b := newBrowser(t, srv.URL)

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
	sum := sha256.Sum256([]byte(b.sessionID()))
	mustContain(t, "the session page", info, base64.RawURLEncoding.EncodeToString(sum[:]))

	if res := b.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", res.Status)
	}
	home := b.get("/")
	mustContain(t, "the page after logout", home, "You are logged out.", "<strong>1</strong> time in")
	if strings.Contains(home, "ann") {
		t.Error("the user survived logout")
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	_, u, ok := strings.Cut(strings.TrimSpace(line), " on ")
	if !ok || !strings.HasPrefix(u, "http://localhost:") {
		t.Fatalf("first line %q: want the URL", line)
	}
	mustContain(t, "the home page", newBrowser(t, u).get("/"), "<strong>1</strong>")

	cancel()
	go io.Copy(io.Discard, out)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestStoreFlag(t *testing.T) {
	for _, arg := range []string{"redis://localhost:6379", "postgres://u@h/db", "mongodb://h", "memcache://h:11211", "sqlite"} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", arg}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `accepted: "memory"`) {
			t.Errorf("-store %s: %v, want an error listing the accepted forms", arg, err)
		}
		if strings.Contains(arg, "://") && !strings.Contains(err.Error(), "not available in the demo yet") {
			t.Errorf("-store %s: %v, want 'not available yet'", arg, err)
		}
	}
	if err := run(context.Background(), []string{"-bogus"}, io.Discard); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
