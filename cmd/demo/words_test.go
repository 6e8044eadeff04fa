package main

import (
	"bytes"
	"context"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
)

// The tests in this file check that the demo's words match what its
// requests do (issue #32, item 7).

// record returns the bytes the store holds under key.
func record(t *testing.T, st sessionstore.Store, key string) []byte {
	t.Helper()
	rec, ok, err := st.Load(context.Background(), key)
	if err != nil || !ok {
		t.Fatalf("load %s: found %v, %v", key, ok, err)
	}
	return rec.Data
}

// TestAGetThatTakesFlashesSaysItWrote checks that a page that took flash
// messages out of the session, which rewrites the stored record, does not
// claim to have only read the session, and that a page that did only read
// it says so.
func TestAGetThatTakesFlashesSaysItWrote(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.count()
	key := storeKey(b.sessionID())

	before := record(t, st, key)
	page := b.get("/")
	if bytes.Equal(record(t, st, key), before) {
		t.Fatal("the GET that took the flash messages out left the stored record as it was")
	}
	if strings.Contains(page, "only read") || strings.Contains(page, "only reads") {
		t.Errorf("a GET that wrote the session (it took the flash messages out) says it only read it:\n%s", page)
	}
	mustContain(t, "the page that took flash messages", page,
		"This page wrote your session only to take its flash messages out",
		"The note marked “Last request” is a flash message",
		"Taking flash messages out is a write, even on a GET: this response saves your session without it.")

	before = record(t, st, key)
	page = b.get("/")
	if !bytes.Equal(record(t, st, key), before) {
		t.Fatal("a GET with no flash messages to take rewrote the stored record")
	}
	mustContain(t, "a page that took nothing", page, "This page wrote nothing")
	if strings.Contains(page, "is a write") || strings.Contains(page, "wrote your session") {
		t.Errorf("a GET that took no flash message says it wrote:\n%s", page)
	}

	// Error pages say the same about GETs.
	req, _ := http.NewRequest("GET", srv.URL+"/logout", nil)
	_, body := b.do(req)
	if strings.Contains(body, "never changes a session") {
		t.Errorf("the error page says a GET never changes a session:\n%s", body)
	}
	mustContain(t, "an error page", body, "writes one only to take its flash")
}

// TestLoginSaysTheOldIDIsAForward checks what the login's note says about
// the id before the login, and what a request still bearing that id sees:
// for a minute the old id names a forward, so a late request sees an empty
// session, stores nothing and sets no cookie.
func TestLoginSaysTheOldIDIsAForward(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.count()
	old := b.sessionID()
	b.login("ann")
	page := b.get("/")
	if strings.Contains(page, "old id was deleted") {
		t.Errorf("the login's note says the old id was deleted; it is a forward for a minute:\n%s", page)
	}
	mustContain(t, "the page after login", page, "The old id’s record became a forward that lives a minute at most",
		"sees an empty session and stores nothing")
	n, err := sessionstore.Count(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}

	// A late request: another client holding the old cookie.
	late := newBrowser(t, srv.URL)
	u, _ := url.Parse(srv.URL)
	late.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: old}})
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	res, page := late.do(req)
	if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("a late request of the old id set %q", c)
	}
	if strings.Contains(page, "Hello, ann") {
		t.Error("a late request of the old id reads the login")
	}
	mustContain(t, "the page of a late request", page, "the id your session had before a login renewed it",
		"stores nothing and sets no cookie")
	if strings.Contains(page, "names no live session") {
		t.Errorf("the page of a late request blames expiry or a sign-out:\n%s", page)
	}
	if res := late.post("/count", nil); res.StatusCode != http.StatusSeeOther || len(res.Header.Values("Set-Cookie")) > 0 {
		t.Errorf("a late count: %s, Set-Cookie %q; want 303 and none", res.Status, res.Header.Values("Set-Cookie"))
	}
	if m, err := sessionstore.Count(context.Background(), st); err != nil || m != n {
		t.Errorf("the store holds %d records after the late requests, %d before (%v): they stored something", m, n, err)
	}
	mustContain(t, "the logged-in page after the late requests", b.get("/"), "Hello, ann.", `<p class="big">1</p>`)
}

// TestLoginWithoutASessionSaysItStartedOne checks that a login from a
// browser with no session, which has no id to renew, does not say it
// renewed one.
func TestLoginWithoutASessionSaysItStartedOne(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.login("ann")
	page := b.get("/")
	if strings.Contains(page, "renewed the session id") || strings.Contains(page, "forward") {
		t.Errorf("a login with no session before it says it renewed an id:\n%s", page)
	}
	mustContain(t, "the page after a login with no session", page, "You had no session, so logging in started one",
		"Hello, ann.")

	// Signed out from another device, it has a cookie but no session.
	other := newBrowser(t, srv.URL)
	other.login("ann")
	other.postOK("/devices/sign-out-others", nil, "/devices")
	b.login("ann")
	mustContain(t, "the page after a login over a signed-out cookie", b.get("/"), "You had no session, so logging in started one")
}

// TestDevicesShowNoEmptyColumn checks that the devices list shows no "last
// seen" the Manager does not know (the demo sets no idle timeout);
// TestDevicesLastSeen shows it when it is known.
func TestDevicesShowNoEmptyColumn(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	laptop, phone := newBrowser(t, srv.URL), newBrowser(t, srv.URL)
	laptop.ua, phone.ua = laptopUA, phoneUA
	laptop.login("cy")
	phone.login("cy")
	page := laptop.get("/devices")
	if strings.Contains(page, "· last seen") || strings.Contains(page, "not tracked") {
		t.Errorf("the devices page shows a last seen it does not know:\n%s", page)
	}
	if n := strings.Count(page, "Session began "); n != 2 {
		t.Errorf("the devices page says when %d sessions began, want 2", n)
	}
}

// TestWrongPasswordKeepsTheUserName checks that the login form shown after
// a wrong password holds the user name typed, escaped, and once only.
func TestWrongPasswordKeepsTheUserName(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	srv := httptest.NewServer(newApp(newManager(st)))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	const typed = `ann "<b>`
	if res := b.post("/login", url.Values{"user": {typed}, "password": {"wrong"}}); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/login" {
		t.Fatalf("wrong password: %s to %q, want 303 to /login", res.Status, res.Header.Get("Location"))
	}
	page := b.get("/login")
	mustContain(t, "the login form after a wrong password", page, "Wrong user name or password",
		`name="user" required value="`+html.EscapeString(typed)+`"`,
		`name="password" required autofocus`,
		"the user name in the form are flash messages")
	if strings.Contains(page, "<b>") {
		t.Error("the typed user name is not escaped")
	}
	again := b.get("/login")
	if strings.Contains(again, "value=") || !strings.Contains(again, `name="user" required autofocus`) {
		t.Errorf("a reload of the login form still holds the typed user name:\n%s", again)
	}
}

// TestBannerNamesTheListenAddress checks that the URL the demo prints is
// where it listens: the host given to -addr, localhost only for an empty or
// unspecified host.
func TestBannerNamesTheListenAddress(t *testing.T) {
	d := startDemo(t) // -addr 127.0.0.1:0
	if !strings.HasPrefix(d.url, "http://127.0.0.1:") {
		t.Errorf("started with -addr 127.0.0.1:0 it printed %q", d.banner)
	}
	mustContain(t, "the home page at the printed URL", newBrowser(t, d.url).get("/"), `<p class="big">0</p>`)

	port := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}
	for addr, want := range map[string]string{
		"127.0.0.1:8081": "http://127.0.0.1:8081",
		"localhost:8081": "http://localhost:8081",
		":8081":          "http://localhost:8081",
		"0.0.0.0:8081":   "http://localhost:8081",
		"[::]:8081":      "http://localhost:8081",
		"[::1]:8081":     "http://[::1]:8081",
		"demo.lan:8081":  "http://demo.lan:8081",
	} {
		if got := serverURL(addr, port); got != want {
			t.Errorf("serverURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestReadmeWarnsOfTheFirstCompile checks that the README's first screen,
// which runs the demo with go run, says that the first run compiles for a
// while before it prints anything.
func TestReadmeWarnsOfTheFirstCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(readme)) {
		if strings.HasPrefix(line, "go run ./cmd/demo") {
			if !strings.Contains(line, "compiles") {
				t.Errorf("the README's demo command does not say the first run compiles first: %q", line)
			}
			return
		}
	}
	t.Error("the README has no line running go run ./cmd/demo")
}
