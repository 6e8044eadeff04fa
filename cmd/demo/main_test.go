package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	ua   string // the User-Agent it sends, if not ""
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
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
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
	mustContain(t, "a new visitor's session page", b.get("/session"), "You have no session: nothing is stored for you and your browser holds no session cookie")
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
		for _, path := range []string{"/", "/login", "/session", "/devices", "/devices/sign-out", "/devices/sign-out-others",
			"/count", "/logout", "/nope", "/robots.txt"} {
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
		{"GET", "/devices/sign-out", http.StatusMethodNotAllowed, "POST", "it signs a device out, so it is a POST"},
		{"PUT", "/devices", http.StatusMethodNotAllowed, "GET, HEAD", "this page is read with GET (or HEAD)"},
		{"POST", "/devices/sign-out-others", http.StatusForbidden, "", "You are not logged in"},
		{"POST", "/session", http.StatusMethodNotAllowed, "GET, HEAD", "this page is read with GET (or HEAD)"},
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
	if !strings.Contains(d.banner, "(store: memory)") || !strings.HasPrefix(d.url, "http://127.0.0.1:") {
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

// The user agents of the devices in the tests.
const (
	laptopUA = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
	phoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	tabletUA = "Mozilla/5.0 (Linux; Android 14; Pixel Tablet) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)

func TestDevices(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	walkDevices(t, srv.URL)

	// The page offers no button for this device's own session; a form
	// sent with its handle anyway signs nothing out.
	b := newBrowser(t, srv.URL)
	b.login("eve")
	list, err := newManager(st).SessionsOf(context.Background(), "eve")
	if err != nil || len(list) != 1 {
		t.Fatalf("SessionsOf(eve) = %v, %v; want one session", list, err)
	}
	b.postOK("/devices/sign-out", url.Values{"handle": {list[0].Handle}}, "/devices")
	mustContain(t, "the devices page after a form naming this device", b.get("/devices"),
		"That is the device you are using: to end its session, log out.", "Log out eve</button>")
}

// walkDevices logs in as one user from three browsers at base and signs
// them out from the first: one by its handle, then everywhere else,
// checking every page on the way.
func walkDevices(t *testing.T, base string) {
	t.Helper()
	laptop, phone, tablet := newBrowser(t, base), newBrowser(t, base), newBrowser(t, base)
	laptop.ua, phone.ua, tablet.ua = laptopUA, phoneUA, tabletUA

	mustContain(t, "the devices page of a visitor", laptop.get("/devices"), "You are not logged in, so no device is yours")
	laptop.login("cy")
	mustContain(t, "the page after login", laptop.get("/"), "bound the session to “cy”", `<a href="/devices">Your devices</a>`)
	page := laptop.get("/devices")
	mustContain(t, "the devices page with one device", page, "Firefox on Linux", "this device", "No other device is logged in as cy",
		"this demo chooses to record it", "personal data", "not when it was last used")
	if strings.Contains(page, `action="/devices/sign-out`) {
		t.Error("the devices page offers to sign out the only device, the current one")
	}

	phone.login("cy")
	page = laptop.get("/devices")
	mustContain(t, "the devices page with two devices", page, "Firefox on Linux", "Safari on iPhone",
		html.EscapeString(phoneUA), "Sign out everywhere else")
	if n := strings.Count(page, "this device"); n != 1 {
		t.Errorf("the devices page marks %d devices as “this device”, want 1", n)
	}
	if strings.Index(page, "Firefox on Linux") > strings.Index(page, "Safari on iPhone") {
		t.Error("the devices page does not list the oldest session first")
	}
	handles := handlesIn(page)
	if len(handles) != 1 {
		t.Fatalf("the devices page has %d sign-out buttons, want 1 (the phone's):\n%s", len(handles), page)
	}
	mustContain(t, "the phone's devices page", phone.get("/devices"), "Safari on iPhone", "this device", "Firefox on Linux")
	if h := handlesIn(phone.get("/devices")); len(h) != 1 || h[0] == handles[0] {
		t.Errorf("the phone's page offers the handles %q; want the laptop's only, not %q", h, handles[0])
	}
	for _, h := range handles {
		if strings.Contains(h, phone.sessionID()) || h == storeKey(phone.sessionID()) {
			t.Errorf("handle %q reveals the session id or its store key", h)
		}
	}

	// The laptop signs the phone out: the phone's next request is logged out.
	laptop.postOK("/devices/sign-out", url.Values{"handle": {handles[0]}}, "/devices")
	page = laptop.get("/devices")
	mustContain(t, "the devices page after signing the phone out", page, "Signed out Safari on iPhone",
		"Manager.RevokeSession", "No other device is logged in as cy")
	if strings.Contains(page, "iPhone OS") {
		t.Error("the devices page still lists the phone after it was signed out")
	}
	home := phone.get("/")
	if strings.Contains(home, "cy") {
		t.Error("the phone is still logged in after it was signed out")
	}
	mustContain(t, "the phone's page after it was signed out", home, "names no live session", "signed out from another device")
	mustContain(t, "the phone's devices page after it was signed out", phone.get("/devices"), "You are not logged in")
	if res := phone.post("/devices/sign-out-others", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a signed-out phone pressing “Sign out everywhere else”: %s, want 403", res.Status)
	}

	// The same handle again, and one of nobody's.
	laptop.postOK("/devices/sign-out", url.Values{"handle": {handles[0]}}, "/devices")
	mustContain(t, "the devices page after a stale button", laptop.get("/devices"), "That device was already signed out")

	// Sign out everywhere else, with two other devices logged in.
	phone.login("cy")
	tablet.login("cy")
	stranger := newBrowser(t, base)
	stranger.login("dee")
	page = laptop.get("/devices")
	mustContain(t, "the devices page with three devices", page, "Safari on iPhone", "Chrome on Android")
	if strings.Contains(page, "dee") {
		t.Error("cy's devices page lists a session of another user")
	}
	if h := handlesIn(stranger.get("/devices")); len(h) != 0 {
		t.Errorf("dee's devices page offers %d buttons, want none", len(h))
	}
	stranger.postOK("/devices/sign-out", url.Values{"handle": handlesIn(page)[:1]}, "/devices")
	mustContain(t, "dee's page after pressing a button with cy's handle", stranger.get("/devices"), "That device was already signed out")
	mustContain(t, "cy's devices after dee pressed a button with cy's handle", laptop.get("/devices"), "Safari on iPhone", "Chrome on Android")

	laptop.postOK("/devices/sign-out-others", nil, "/devices")
	page = laptop.get("/devices")
	mustContain(t, "the devices page after signing out everywhere else", page, "Signed out 2 other devices.",
		"Manager.RevokeAll", "Firefox on Linux", "this device", "No other device is logged in as cy")
	for _, b := range []*browser{phone, tablet} {
		if home := b.get("/"); strings.Contains(home, "Hello, cy") {
			t.Errorf("%s is still logged in after “sign out everywhere else”", deviceName(b.ua))
		}
	}
	mustContain(t, "the laptop's home page after signing out everywhere else", laptop.get("/"), "Hello, cy.")
	mustContain(t, "dee's home page after cy signed out everywhere else", stranger.get("/"), "Hello, dee.")
	laptop.postOK("/devices/sign-out-others", nil, "/devices")
	mustContain(t, "the devices page after a second sign-out everywhere else", laptop.get("/devices"), "No other device was logged in as cy.")

	// Logging out ends the laptop's session, so it leaves the list.
	tablet.login("cy")
	laptop.postOK("/logout", nil, "/")
	if page := tablet.get("/devices"); strings.Contains(page, "Firefox on Linux") || !strings.Contains(page, "Chrome on Android") {
		t.Errorf("the tablet's devices page after the laptop logged out lists the wrong devices:\n%s", page)
	}
}

// login logs in as user.
func (b *browser) login(user string) {
	b.t.Helper()
	b.postOK("/login", url.Values{"user": {user}, "password": {"demo"}}, "/")
}

// postOK submits a form, which must redirect to the page at to.
func (b *browser) postOK(path string, form url.Values, to string) {
	b.t.Helper()
	res := b.post(path, form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != to {
		b.t.Fatalf("POST %s: %s to %q, want 303 to %s", path, res.Status, res.Header.Get("Location"), to)
	}
}

// handlesIn returns the handles of the sign-out buttons of a devices page.
func handlesIn(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`name="handle" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDevicesLastSeen shows "last seen" when the Manager has an idle
// timeout (the demo's own has none; see sessionLifetime).
func TestDevicesLastSeen(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	m := newManager(st)
	m.IdleTimeout = 30 * time.Minute
	srv := httptest.NewServer(newApp(m))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	before := time.Now()
	b.login("cy")
	page := b.get("/devices")
	after := time.Now()
	mustContain(t, "the devices page with an idle timeout", page, "right to within 3m0s, a tenth of the idle timeout (30m0s)")
	if strings.Contains(page, "not tracked") {
		t.Error("the devices page says last seen is not tracked with an idle timeout")
	}
	// Last seen is the login, to the minute, as is the session's start.
	for _, t0 := range []time.Time{before, after} {
		if m := short(t0)[:5]; strings.Contains(page, "Session began "+m) && strings.Contains(page, "last seen "+m) {
			return
		}
	}
	t.Errorf("the devices page does not show a last seen between %s and %s:\n%s", short(before), short(after), page)
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		laptopUA: "Firefox on Linux",
		phoneUA:  "Safari on iPhone",
		tabletUA: "Chrome on Android",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":         "Safari on macOS",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36":                 "Headless Chrome on Linux",
		"curl/8.5.0":            "curl",
		"Go-http-client/1.1":    "a Go program",
		"":                      "A browser that sent no user agent",
		"Lynx/2.9":              "An unrecognised browser",
		"Mozilla/5.0 (Windows)": "A browser on Windows",
	} {
		if got := deviceName(ua); got != want {
			t.Errorf("deviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}
