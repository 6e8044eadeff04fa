// Package frameworktest checks, over HTTP, that a web framework running the
// session lifecycle of a sessionstore.Manager keeps the Manager's
// guarantees: chi, gin and echo inside Manager.Handler, Fiber through
// fiberstore.Middleware. It imports no framework: each framework's test
// serves the routes of [App.Serve] in its own way, reading the session with
// its own accessor, and runs [Run] and [RunConcurrent] against its server.
//
// It lives in the root module, with only net/http, so that the framework
// modules (ginstore, fiberstore, internal/echotest) share one set of
// assertions without a framework entering the root module's graph.
package frameworktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/codec"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/memory"
)

// CookieName is the session cookie's name: the Manager's default.
const CookieName = "session"

// Case is one store the framework tests run on.
type Case struct {
	Name   string
	NewApp func(t testing.TB) *App
}

// Cases returns the stores the framework tests run on: the memory store, the
// memory store encrypted at rest by package encrypt, and Redis and
// PostgreSQL, each over its real server in a container.
func Cases() []Case {
	cs := []Case{{Name: "memory+encrypt", NewApp: newEncrypted}}
	for _, b := range backendtest.All() {
		switch b.Name {
		case "memory", "redis", "postgres":
			cs = append(cs, Case{Name: b.Name, NewApp: func(t testing.TB) *App { return New(b.NewStore(t)) }})
		}
	}
	return cs
}

// newEncrypted returns an App over a memory store wrapped by package
// encrypt, with Raw the memory store, so Run can check that no value is
// stored in clear.
func newEncrypted(t testing.TB) *App {
	store, raw := EncryptedMemory(t)
	a := New(store)
	a.Raw = raw
	return a
}

// EncryptedMemory returns a new memory store (raw) and the same store
// wrapped by package encrypt under a fresh key (sealed): what an adapter's
// test runs over to show it works with encryption at rest.
func EncryptedMemory(t testing.TB) (sealed, raw sessionstore.Store) {
	text, err := encrypt.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := encrypt.ParseKeys(text)
	if err != nil {
		t.Fatal(err)
	}
	raw = memory.New(memory.Options{})
	sealed, err = encrypt.New(raw, keys, encrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sealed, raw
}

// Cart is a struct value the tests store, to show the Manager's codec at
// work (registered with the Manager's msgpack codec by New).
type Cart struct {
	Items []string
	Total int
}

// App is the application the framework tests serve: a Manager over a store,
// and the behaviour of each route.
type App struct {
	M     *sessionstore.Manager
	Store sessionstore.Store
	Raw   sessionstore.Store // under Store when it encrypts, else nil

	gate atomic.Pointer[barrier] // held by /put and /login while a race is set up
}

// New returns an App whose Manager, made by sessionstore.New with its
// defaults untouched but for a codec that knows Cart, keeps its sessions in
// store.
func New(store sessionstore.Store) *App {
	m := sessionstore.New(store)
	m.Codec = codec.NewMsgPack(Cart{})
	return &App{M: m, Store: store}
}

// Serve runs the route path with query q on s, the session the framework
// handed to the handler, and returns the status and body to answer. s nil
// (the framework did not find the session) is a 500 saying so. Routes:
//
//	/read          reads the visit counter and writes nothing: "visits=N"
//	/visit         increments it: "visits=N"
//	/cart          stores a Cart struct and reads it back: "cart=N items"
//	/put?k=K       sets K to true (waits at the race gate when one is set)
//	/login?user=U  logs the session in as U: LogIn renews its id
//	/whoami        "owner|visits|sorted keys"
//	/logout        destroys the session
func (a *App) Serve(path string, q url.Values, s *sessionstore.Session) (int, string) {
	if s == nil {
		return http.StatusInternalServerError, "no session in the handler"
	}
	switch path {
	case "/read":
		return http.StatusOK, "visits=" + strconv.Itoa(s.GetInt("visits"))
	case "/visit":
		n := s.GetInt("visits") + 1
		s.Put("visits", n)
		return http.StatusOK, "visits=" + strconv.Itoa(n)
	case "/cart":
		s.Put("cart", Cart{Items: []string{"tea", "cake"}, Total: 7})
		c, ok := sessionstore.Get[Cart](s, "cart")
		if !ok {
			return http.StatusInternalServerError, "cart not read back"
		}
		return http.StatusOK, "cart=" + strconv.Itoa(len(c.Items)) + " items"
	case "/put":
		a.wait()
		s.Put(q.Get("k"), true)
		return http.StatusOK, "ok"
	case "/login":
		a.wait()
		s.LogIn(q.Get("user"), nil)
		return http.StatusOK, "welcome " + q.Get("user")
	case "/whoami":
		keys := s.Keys()
		slices.Sort(keys)
		return http.StatusOK, s.Owner() + "|" + strconv.Itoa(s.GetInt("visits")) + "|" + strings.Join(keys, ",")
	case "/logout":
		s.Destroy()
		return http.StatusOK, "bye"
	}
	return http.StatusNotFound, "no route " + path
}

// Paths are the routes Serve answers, for frameworks that register each.
var Paths = []string{"/read", "/visit", "/cart", "/put", "/login", "/whoami", "/logout"}

func (a *App) wait() {
	if g := a.gate.Load(); g != nil {
		g.wait()
	}
}

// barrier lets n requests through together once all of them opened their
// session, so that each one's changes race the others'.
type barrier struct {
	mu   sync.Mutex
	n    int
	open chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, open: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.n--
	if b.n == 0 {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-time.After(30 * time.Second): // a framework that serialises requests: let the test fail, not hang
	}
}

// Reply is one answer as the client saw it.
type Reply struct {
	Status int
	Body   string
	Header http.Header
	Cookie *http.Cookie // the session cookie set, if any
}

// Get sends GET base+path with the session cookie value (none when "") and
// returns the answer.
func Get(t testing.TB, base, path, cookie string) Reply {
	t.Helper()
	rp, err := get(base, path, cookie)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return rp
}

func get(base, path, cookie string) (Reply, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return Reply{}, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", CookieName+"="+cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	rp := Reply{Status: resp.StatusCode, Body: string(body), Header: resp.Header}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			rp.Cookie = c
		}
	}
	return rp, err
}

// Run checks the guarantees of the Manager through the framework serving
// base, one request at a time:
//   - an anonymous reader gets no cookie and stores no record;
//   - the first write sets an HttpOnly, SameSite=Lax cookie on Path / (no
//     Secure over plain HTTP), marks the response Vary: Cookie and
//     uncacheable by shared caches, and stores one record;
//   - a struct value goes through the Manager's codec, and is stored
//     sealed when the App has a Raw store under an encrypting one;
//   - a foreign or malformed cookie is a new session, never an error, and
//     its id is not adopted;
//   - LogIn renews the id, keeps the data, and SessionsOf lists the session;
//     RevokeSession ends it;
//   - Destroy expires the cookie and unlists the session.
func Run(t *testing.T, a *App, base string) {
	ctx := context.Background()

	rp := Get(t, base, "/read", "")
	if rp.Status != http.StatusOK || rp.Body != "visits=0" || rp.Cookie != nil || rp.Header.Values("Set-Cookie") != nil {
		t.Fatalf("anonymous read: %d %q, Set-Cookie %q; want 200 visits=0 and no cookie", rp.Status, rp.Body, rp.Header.Values("Set-Cookie"))
	}
	if n := count(t, a.Store); n != 0 {
		t.Fatalf("an anonymous read stored %d records, want 0", n)
	}

	rp = Get(t, base, "/visit", "")
	c := rp.Cookie
	if rp.Status != http.StatusOK || rp.Body != "visits=1" || c == nil {
		t.Fatalf("first write: %d %q, cookie %v; want 200 visits=1 and a session cookie", rp.Status, rp.Body, c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 0 {
		t.Fatalf("cookie %q: want HttpOnly, SameSite=Lax, Path=/, no Secure over plain HTTP, a browser-session cookie", rp.Header.Values("Set-Cookie"))
	}
	if !slices.Contains(rp.Header.Values("Vary"), "Cookie") || !strings.Contains(rp.Header.Get("Cache-Control"), `no-cache="Set-Cookie"`) {
		t.Fatalf("response setting the cookie has Vary %q, Cache-Control %q; want Vary: Cookie and no-cache=\"Set-Cookie\"", rp.Header.Values("Vary"), rp.Header.Get("Cache-Control"))
	}
	if n := count(t, a.Store); n != 1 {
		t.Fatalf("one session stored %d records, want 1", n)
	}
	id := c.Value
	if _, found, err := a.Store.Load(ctx, hashID(id)); err != nil || !found {
		t.Fatalf("the session is not stored under the hash of its id: found %v, %v", found, err)
	}

	rp = Get(t, base, "/visit", id)
	if rp.Body != "visits=2" || rp.Cookie != nil {
		t.Fatalf("second write: %q, cookie %v; want visits=2 and no new cookie", rp.Body, rp.Cookie)
	}
	if rp = Get(t, base, "/cart", id); rp.Status != http.StatusOK || rp.Body != "cart=2 items" {
		t.Fatalf("struct value: %d %q, want cart=2 items", rp.Status, rp.Body)
	}
	if rp = Get(t, base, "/whoami", id); rp.Body != "|2|cart,visits" {
		t.Fatalf("the session read back %q, want |2|cart,visits (the Cart decoded by the Manager's codec)", rp.Body)
	}
	if a.Raw != nil {
		records := 0
		err := a.Raw.(sessionstore.Iterator).Iterate(ctx, func(_ string, rec sessionstore.Record) bool {
			records++
			if bytes.Contains(rec.Data, []byte("cake")) {
				t.Errorf("a stored record holds the value in clear: %q", rec.Data)
			}
			return true
		})
		if err != nil || records != 1 {
			t.Fatalf("the raw store holds %d records (%v), want 1 sealed record", records, err)
		}
	}

	for _, foreign := range []string{"zzz", strings.Repeat("A", 43), "MTY5MDAwMDAwMHxEdi1CQkFFQ180SUFBUkFCRUFBQV8tSV8="} {
		rp = Get(t, base, "/visit", foreign)
		if rp.Status != http.StatusOK || rp.Body != "visits=1" || rp.Cookie == nil || rp.Cookie.Value == foreign {
			t.Fatalf("cookie %q: %d %q, cookie %v; want a new session (200, visits=1, a fresh id)", foreign, rp.Status, rp.Body, rp.Cookie)
		}
		if rp = Get(t, base, "/read", foreign); rp.Status != http.StatusOK || rp.Cookie != nil {
			t.Fatalf("read with cookie %q: %d, cookie %v; want 200 and no cookie", foreign, rp.Status, rp.Cookie)
		}
	}

	rp = Get(t, base, "/login?user=ann", id)
	if rp.Status != http.StatusOK || rp.Cookie == nil || rp.Cookie.Value == id || !rp.Cookie.HttpOnly {
		t.Fatalf("login: %d %q, cookie %v; want 200 and a renewed id", rp.Status, rp.Body, rp.Cookie)
	}
	renewed := rp.Cookie.Value
	if rp = Get(t, base, "/whoami", renewed); rp.Body != "ann|2|cart,visits" {
		t.Fatalf("after login: %q, want ann|2|cart,visits (data kept under the renewed id)", rp.Body)
	}
	if _, found, err := a.Store.Load(ctx, hashID(renewed)); err != nil || !found {
		t.Fatalf("the renewed session is not stored: %v %v", found, err)
	}
	owned := sessionsOf(t, a, "ann", 1)
	if rp = Get(t, base, "/logout", renewed); rp.Status != http.StatusOK || rp.Cookie == nil || rp.Cookie.MaxAge >= 0 {
		t.Fatalf("logout: %d %q, cookie %v; want 200 expiring the cookie", rp.Status, rp.Body, rp.Cookie)
	}
	sessionsOf(t, a, "ann", 0)
	if rp = Get(t, base, "/whoami", renewed); rp.Body != "|0|" || rp.Cookie != nil {
		t.Fatalf("after logout the old cookie reads %q, cookie %v; want a new, empty session", rp.Body, rp.Cookie)
	}
	_ = owned

	rp = Get(t, base, "/login?user=bob", "")
	bob := rp.Cookie
	if bob == nil {
		t.Fatalf("login of a new visitor set no cookie: %d %q", rp.Status, rp.Body)
	}
	owned = sessionsOf(t, a, "bob", 1)
	if err := a.M.RevokeSession(ctx, "bob", owned[0].Handle); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	sessionsOf(t, a, "bob", 0)
	if rp = Get(t, base, "/whoami", bob.Value); rp.Body != "|0|" {
		t.Fatalf("a revoked session reads %q, want a new, empty one", rp.Body)
	}
}

// RunConcurrent checks, through the framework serving base, that requests
// of one session running at once merge their changes (the Manager's rule for
// a versioned store), and that a login racing page requests of the same
// session keeps every one of their writes, leaves the page requests setting
// no cookie, and lists one session of the user.
func RunConcurrent(t *testing.T, a *App, base string) {
	const writers = 20
	ctx := context.Background()
	seed := func() string {
		rp := Get(t, base, "/visit", "")
		if rp.Cookie == nil {
			t.Fatalf("seed: no cookie: %d %q", rp.Status, rp.Body)
		}
		return rp.Cookie.Value
	}
	race := func(cookie string, last string) []Reply {
		n := writers
		if last != "" {
			n++
		}
		a.gate.Store(newBarrier(n))
		defer a.gate.Store(nil)
		paths := make([]string, 0, n)
		for i := range writers {
			paths = append(paths, fmt.Sprintf("/put?k=w%02d", i))
		}
		if last != "" {
			paths = append(paths, last)
		}
		replies := make([]Reply, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, p := range paths {
			wg.Go(func() { replies[i], errs[i] = get(base, p, cookie) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("GET %s: %v", paths[i], err)
			}
		}
		for i, rp := range replies[:writers] {
			if rp.Status != http.StatusOK || rp.Cookie != nil {
				t.Fatalf("writer %d: %d %q, cookie %v; want 200 and no cookie", i, rp.Status, rp.Body, rp.Cookie)
			}
		}
		return replies
	}
	wantKeys := func(cookie, owner string) {
		t.Helper()
		keys := []string{"visits"}
		for i := range writers {
			keys = append(keys, fmt.Sprintf("w%02d", i))
		}
		slices.Sort(keys)
		want := owner + "|1|" + strings.Join(keys, ",")
		if rp := Get(t, base, "/whoami", cookie); rp.Body != want {
			t.Fatalf("after the race the session reads\n%q\nwant\n%q (every write kept)", rp.Body, want)
		}
	}

	t.Run("writers merge", func(t *testing.T) {
		cookie := seed()
		race(cookie, "")
		wantKeys(cookie, "")
	})
	t.Run("login races writers", func(t *testing.T) {
		cookie := seed()
		replies := race(cookie, "/login?user=carol")
		login := replies[writers]
		if login.Status != http.StatusOK || login.Cookie == nil || login.Cookie.Value == cookie {
			t.Fatalf("login: %d %q, cookie %v; want 200 and a renewed id", login.Status, login.Body, login.Cookie)
		}
		wantKeys(login.Cookie.Value, "carol")
		sessionsOf(t, a, "carol", 1)
		if _, err := a.M.RevokeAll(ctx, "carol", false); err != nil {
			t.Fatal(err)
		}
	})
}

// sessionsOf checks that owner has n sessions and returns them.
func sessionsOf(t *testing.T, a *App, owner string, n int) []sessionstore.OwnedSession {
	t.Helper()
	got, err := a.M.SessionsOf(context.Background(), owner)
	if err != nil || len(got) != n {
		t.Fatalf("SessionsOf(%q): %d sessions, %v; want %d", owner, len(got), err, n)
	}
	return got
}

// count returns the number of live records in store, which must iterate.
func count(t *testing.T, store sessionstore.Store) int {
	t.Helper()
	it, ok := store.(sessionstore.Iterator)
	if !ok {
		t.Fatalf("%T cannot iterate: the test cannot count records", store)
	}
	n := 0
	err := it.Iterate(context.Background(), func(string, sessionstore.Record) bool { n++; return true })
	if err != nil {
		t.Fatalf("Iterate: %v", err)
	}
	return n
}

// hashID is the store key of a session id under the Manager's defaults.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RunAdapter checks what the README's table promises for a session
// middleware of another library (gin-contrib, echo-contrib) over one of
// this library's adapters, serving base with its cookie named CookieName:
// a GET of /read, a handler that only reads, sets no cookie and stores
// nothing, three times; a GET of /visit, whose handler writes and saves,
// sets an HttpOnly, SameSite=Lax cookie without Secure (the adapters'
// defaults over plain HTTP) and stores one record in store.
func RunAdapter(t *testing.T, base string, store sessionstore.Store) {
	t.Helper()
	for range 3 {
		if rp := Get(t, base, "/read", ""); rp.Status != http.StatusOK || rp.Cookie != nil {
			t.Fatalf("anonymous read: %d %q, cookie %v; want 200 and no cookie", rp.Status, rp.Body, rp.Cookie)
		}
	}
	if n := count(t, store); n != 0 {
		t.Fatalf("3 anonymous reads stored %d records, want 0", n)
	}
	rp := Get(t, base, "/visit", "")
	if ck := rp.Cookie; rp.Status != http.StatusOK || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("write: %d, cookie %v; want 200 and HttpOnly, SameSite=Lax, no Secure", rp.Status, ck)
	}
	if n := count(t, store); n != 1 {
		t.Fatalf("one write stored %d records, want 1", n)
	}
}
