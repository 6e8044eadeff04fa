package sessionstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// app is the handler most tests run behind a Manager. Its paths:
//
//	/            touches nothing
//	/read        prints every value
//	/put?k=K&v=V puts V (a string) under K
//	/inc         increments "n" with Update and prints it
//	/del?k=K     deletes K
//	/clear /destroy /renew /permanent?on=1
//	/renew-put   RenewID, then puts a=1
//	/flash?c=C&m=M, /flashes?c=C (prints and takes them)
//	/destroy-flash  Destroy, then a flash message
func app(w http.ResponseWriter, r *http.Request) {
	s := sessionstore.FromContext(r.Context())
	q := r.URL.Query()
	switch r.URL.Path {
	case "/":
	case "/read":
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			fmt.Fprintf(w, "%s=%v;", k, v)
		}
	case "/put":
		s.Put(q.Get("k"), q.Get("v"))
	case "/inc":
		s.Update("n", func(old any) any {
			n, _ := old.(int)
			return n + 1
		})
		fmt.Fprint(w, s.GetInt("n"))
	case "/del":
		s.Delete(q.Get("k"))
	case "/clear":
		s.Clear()
	case "/destroy":
		s.Destroy()
	case "/destroy-flash":
		s.Destroy()
		s.Flash("info", "bye")
	case "/renew":
		s.RenewID()
	case "/renew-put":
		s.RenewID()
		s.Put("a", "1")
	case "/permanent":
		s.SetPermanent(q.Get("on") == "1")
	case "/flash":
		s.Flash(q.Get("c"), q.Get("m"))
	case "/flashes":
		var cats []string
		if c := q.Get("c"); c != "" {
			cats = strings.Split(c, ",")
		}
		for _, f := range s.Flashes(cats...) {
			fmt.Fprintf(w, "%s:%s;", f.Category, f.Message)
		}
	default:
		http.NotFound(w, r)
	}
}

func TestVisitorWhoNeverWritesGetsNoCookieAndNoRow(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	c := serve(t, m, app)
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "POST"} {
		for _, path := range []string{"/", "/read", "/flashes", "/del?k=x", "/clear", "/destroy", "/renew"} {
			res, _ := c.do(method, path)
			if sc := res.Header.Get("Set-Cookie"); sc != "" {
				t.Errorf("%s %s: Set-Cookie %q", method, path, sc)
			}
		}
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want 0", n)
	}
	if w := spy.writes(); w != 0 {
		t.Errorf("%d store writes, want 0", w)
	}
}

func TestFirstWriteSetsCookieWithSecureDefaults(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	c := serve(t, m, app)
	res, _ := c.get("/put?k=a&v=1")
	ck := sessionCookie(res)
	if ck == nil {
		t.Fatalf("no session cookie; Set-Cookie %q", res.Header.Values("Set-Cookie"))
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.Domain != "" {
		t.Errorf("cookie %s: want HttpOnly, SameSite=Lax, Path=/, no Secure over plain HTTP, no Domain", res.Header.Get("Set-Cookie"))
	}
	if ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Errorf("cookie %s: a session that is not permanent gets a browser-session cookie", res.Header.Get("Set-Cookie"))
	}
	if len(ck.Value) != 43 {
		t.Errorf("id %q: want 43 base64url characters (256 bits)", ck.Value)
	}
	if !hasVaryCookie(res) {
		t.Errorf("Vary %q: want Cookie", res.Header.Values("Vary"))
	}
	if n := count(t, spy); n != 1 {
		t.Errorf("%d sessions stored, want 1", n)
	}
	// The store holds the hash of the id, never the id.
	ctx := context.Background()
	if _, found, _ := spy.Store.Load(ctx, ck.Value); found {
		t.Error("the record is stored under the raw id")
	}
	if _, found, _ := spy.Store.Load(ctx, sessionstore.HashID(ck.Value)); !found {
		t.Error("no record under the hash of the id")
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mode   sessionstore.SecureMode
		tls    bool
		secure bool
	}{
		{"auto/http", sessionstore.SecureAuto, false, false},
		{"auto/https", sessionstore.SecureAuto, true, true},
		{"always/http", sessionstore.SecureAlways, false, true},
		{"never/https", sessionstore.SecureNever, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			m.Cookie.Secure = tc.mode
			h := m.Handler(http.HandlerFunc(app))
			var srv *httptest.Server
			if tc.tls {
				srv = newTLSServer(t, h)
			} else {
				srv = newServer(t, h)
			}
			res, _ := newClient(t, srv).get("/put?k=a&v=1")
			ck := sessionCookie(res)
			if ck == nil || ck.Secure != tc.secure {
				t.Errorf("Set-Cookie %q: want Secure=%v", res.Header.Get("Set-Cookie"), tc.secure)
			}
		})
	}
}

func TestValuesPersistAcrossRequests(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	id := c.cookie()
	res, _ := c.get("/put?k=b&v=2")
	if sc := res.Header.Get("Set-Cookie"); sc != "" {
		t.Errorf("changing a stored session re-sent its cookie: %q", sc)
	}
	if _, body := c.get("/read"); body != "a=1;b=2;" {
		t.Errorf("read %q, want a=1;b=2;", body)
	}
	if c.cookie() != id {
		t.Error("the id changed without RenewID")
	}
	for i := 1; i <= 3; i++ {
		if _, body := c.get("/inc"); body != fmt.Sprint(i) {
			t.Errorf("inc %d: got %q", i, body)
		}
	}
}

func TestVaryCookieWhenSessionRead(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, app)
	if res, _ := c.get("/read"); !hasVaryCookie(res) {
		t.Error("no Vary: Cookie on a response that read the (empty) session")
	}
	if res, _ := c.get("/"); hasVaryCookie(res) {
		t.Error("Vary: Cookie on a response that never used the session")
	}
	c.get("/put?k=a&v=1")
	if res, _ := c.get("/read"); !hasVaryCookie(res) {
		t.Error("no Vary: Cookie on a response that read a stored session")
	}
}

func TestUnmodifiedSessionIsNotWritten(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	before := spy.writes()
	for range 5 {
		if res, _ := c.get("/read"); res.Header.Get("Set-Cookie") != "" {
			t.Error("Set-Cookie on a read-only request")
		}
	}
	if w := spy.writes() - before; w != 0 {
		t.Errorf("%d store writes for read-only requests, want 0", w)
	}
}
