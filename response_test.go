package sessionstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

func TestResponseIsStreamedWithFlusher(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			t.Parallel()
			m, spy := newSpy(t, nil)
			release := make(chan struct{})
			srv := httptest.NewUnstartedServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sessionstore.FromContext(r.Context()).Put("a", "1")
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				<-release // the client must see "first" before the handler goes on
				io.WriteString(w, "second\n")
			})))
			if h2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if h2 != (res.ProtoMajor == 2) {
				t.Fatalf("protocol %s", res.Proto)
			}
			if sessionCookie(res) == nil {
				t.Error("no cookie in the streamed response's header")
			}
			if n := count(t, spy); n != 1 {
				t.Errorf("%d sessions stored when the header arrived, want 1", n)
			}
			br := bufio.NewReader(res.Body)
			if line, err := br.ReadString('\n'); line != "first\n" || err != nil {
				t.Fatalf("first line %q, %v", line, err)
			}
			close(release)
			if rest, err := io.ReadAll(br); string(rest) != "second\n" || err != nil {
				t.Errorf("rest %q, %v", rest, err)
			}
		})
	}
}

func TestResponseControllerWorksThroughTheWrapper(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	var errs []error
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("a", "1")
		rc := http.NewResponseController(w)
		errs = append(errs,
			rc.SetReadDeadline(time.Now().Add(time.Minute)),
			rc.SetWriteDeadline(time.Now().Add(time.Minute)),
			rc.EnableFullDuplex(),
			rc.Flush(),
		)
		io.WriteString(w, "ok")
	})
	res, body := c.get("/")
	for i, err := range errs {
		if err != nil {
			t.Errorf("ResponseController call %d: %v", i, err)
		}
	}
	if body != "ok" || sessionCookie(res) == nil {
		t.Errorf("body %q, Set-Cookie %q", body, res.Header.Get("Set-Cookie"))
	}
}

// hijackApp puts k=v in the session, then hijacks the connection (through
// http.Hijacker or a ResponseController) and answers by hand.
func hijackApp(viaController bool, late *errorLog) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hijack" {
			app(w, r)
			return
		}
		sessionstore.FromContext(r.Context()).Put("k", "v")
		var conn io.WriteCloser
		var err error
		if viaController {
			conn, _, err = http.NewResponseController(w).Hijack()
		} else {
			conn, _, err = w.(http.Hijacker).Hijack()
		}
		if err != nil {
			late.add(err)
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		conn.Close()
	}
}

// errorLog collects what an ErrorHandler receives.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) take() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.errs
	l.errs = nil
	return e
}

func (l *errorLog) handler(w http.ResponseWriter, r *http.Request, err error) {
	l.add(err)
	if !errors.Is(err, sessionstore.ErrHeaderSent) {
		http.Error(w, "session error", http.StatusInternalServerError)
	}
}

func TestHijack(t *testing.T) {
	t.Parallel()
	for _, via := range []bool{false, true} {
		t.Run(fmt.Sprintf("controller=%v", via), func(t *testing.T) {
			t.Parallel()
			m, spy := newSpy(t, nil)
			var errs errorLog
			m.ErrorHandler = errs.handler
			c := serve(t, m, hijackApp(via, &errs))

			// A new session cannot get its cookie over a hijacked
			// connection: reported, not saved.
			if _, body := c.get("/hijack"); body != "hijacked" {
				t.Fatalf("body %q", body)
			}
			if e := errs.take(); len(e) != 1 || !errors.Is(e[0], sessionstore.ErrHeaderSent) {
				t.Errorf("errors %v, want one wrapping ErrHeaderSent", e)
			}
			if n := count(t, spy); n != 0 {
				t.Errorf("%d sessions stored, want 0", n)
			}

			// A stored session is saved before the hijack.
			c.get("/put?k=a&v=1")
			c.get("/hijack")
			if e := errs.take(); len(e) != 0 {
				t.Errorf("errors %v", e)
			}
			if _, body := c.get("/read"); body != "a=1;k=v;" {
				t.Errorf("read %q, want a=1;k=v;", body)
			}
		})
	}
}

func TestReadFromSavesFirst(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("a", "1")
		// A LimitedReader has no WriteTo, so io.Copy takes ReadFrom.
		if _, err := io.Copy(w, io.LimitReader(strings.NewReader("copied body"), 100)); err != nil {
			t.Error(err)
		}
	})
	res, body := c.get("/")
	if body != "copied body" || sessionCookie(res) == nil {
		t.Errorf("body %q, Set-Cookie %q", body, res.Header.Get("Set-Cookie"))
	}
	if _, ok := any(&struct{ http.ResponseWriter }{}).(io.ReaderFrom); ok {
		t.Fatal("test assumption broken")
	}
}

func TestInformationalHeaderDoesNotSave(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		sessionstore.FromContext(r.Context()).Put("a", "1")
		io.WriteString(w, "ok")
	})
	var hints int
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { hints++; return nil },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", c.srv.URL, nil)
	res, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if hints != 1 || sessionCookie(res) == nil {
		t.Errorf("%d early hints, Set-Cookie %q: want 1 and the cookie in the final header", hints, res.Header.Get("Set-Cookie"))
	}
}

func TestChangesAfterHeader(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	var errs errorLog
	m.ErrorHandler = errs.handler
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" || r.URL.Path == "/put" {
			app(w, r)
			return
		}
		io.WriteString(w, "body first")
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/late")
		app(w, r)
	})

	// A new session's first value needs a cookie: reported, not saved.
	if _, body := c.get("/late/put?k=a&v=1"); body != "body first" {
		t.Errorf("body %q", body)
	}
	if e := errs.take(); len(e) != 1 || !errors.Is(e[0], sessionstore.ErrHeaderSent) {
		t.Errorf("errors %v, want one wrapping ErrHeaderSent", e)
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want 0", n)
	}

	// A stored session's change needs no cookie: saved.
	c.get("/put?k=a&v=1")
	c.get("/late/put?k=b&v=2")
	c.get("/late/del?k=a")
	if e := errs.take(); len(e) != 0 {
		t.Errorf("errors %v", e)
	}
	if _, body := c.get("/read"); body != "b=2;" {
		t.Errorf("read %q, want b=2;", body)
	}

	// RenewID needs a new cookie: reported, and nothing saved under the
	// old id (it may be the one an attacker knows).
	id := c.cookie()
	c.get("/late/renew")
	if e := errs.take(); len(e) != 1 || !errors.Is(e[0], sessionstore.ErrHeaderSent) {
		t.Errorf("errors %v, want one wrapping ErrHeaderSent", e)
	}
	if c.cookie() != id {
		t.Error("the cookie changed")
	}

	// Permanent: the data is saved, the cookie cannot follow: reported.
	c.get("/late/permanent?on=1")
	if e := errs.take(); len(e) != 1 || !errors.Is(e[0], sessionstore.ErrHeaderSent) {
		t.Errorf("errors %v, want one wrapping ErrHeaderSent", e)
	}

	// A store error on a late save is reported too.
	spy.fail(nil, errInjected)
	c.get("/late/put?k=c&v=3")
	spy.fail(nil, nil)
	if e := errs.take(); len(e) != 1 || !errors.Is(e[0], sessionstore.ErrHeaderSent) || !errors.Is(e[0], errInjected) {
		t.Errorf("errors %v, want one wrapping ErrHeaderSent and the store's", e)
	}
}

func TestOpenAndSaveInOwnMiddleware(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	var si sessionstore.SessionInterface = m
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := si.Open(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
		if err := si.Save(w, r, s); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, s.GetInt("n"))
	}))
	c := newClient(t, srv)
	for i := 1; i <= 3; i++ {
		if _, body := c.get("/"); body != fmt.Sprint(i) {
			t.Errorf("request %d: %q", i, body)
		}
	}
	if sessionstore.FromContext(t.Context()) != nil {
		t.Error("FromContext outside Handler is not nil")
	}
}

func TestTwoManagersOnOneHandler(t *testing.T) {
	t.Parallel()
	a, _ := newSpy(t, nil)
	b, _ := newSpy(t, nil)
	b.Cookie.Name = "prefs"
	h := a.Handler(b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Get(r).Put("in", "a")
		b.Get(r).Put("in", "b")
		if sessionstore.FromContext(r.Context()) != b.Get(r) {
			t.Error("FromContext is not the innermost session")
		}
		fmt.Fprint(w, a.Get(r).GetString("in"), b.Get(r).GetString("in"))
	})))
	res, body := newClient(t, newServer(t, h)).get("/")
	if body != "ab" || len(res.Cookies()) != 2 {
		t.Errorf("body %q, cookies %v", body, res.Cookies())
	}
}

// TestCookieResponsesAreNotCachedByShared: a response that sets or clears
// the session cookie tells shared caches not to store the cookie, and keeps
// a stricter Cache-Control of the handler's.
func TestCookieResponsesAreNotCachedByShared(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		app(w, r)
	})
	for _, tc := range []struct{ path, want string }{
		{"/put?k=a&v=1", `no-cache="Set-Cookie"`}, // sets the cookie
		{"/read", ""}, // sets none
		{"/put?k=b&v=2&cc=public,+max-age=60", "public, max-age=60"}, // no new cookie: untouched
		{"/renew?cc=public,+max-age=60", `public, max-age=60|no-cache="Set-Cookie"`},
		{"/renew?cc=no-store", "no-store"},
		{"/destroy", `no-cache="Set-Cookie"`}, // clears the cookie
	} {
		res, _ := c.get(tc.path)
		if got := strings.Join(res.Header.Values("Cache-Control"), "|"); got != tc.want {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestClientGoneIsNotAServerError: a save that fails only because the
// client closed the request gets no 500 and is logged at debug level.
func TestClientGoneIsNotAServerError(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	var logs syncBuffer
	m.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	for _, when := range []string{"open", "save"} {
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		if when == "open" {
			cancel()
		}
		req := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: m.Cookie.Name, Value: c.cookie()})
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sessionstore.FromContext(r.Context()).Put("b", "2")
			cancel() // the client goes away while the handler runs
			w.WriteHeader(http.StatusOK)
		})).ServeHTTP(rec, req)
		cancel()
		if rec.Code == http.StatusInternalServerError {
			t.Errorf("%s: status %d: a client that went away got a 500", when, rec.Code)
		}
		if l := logs.String(); strings.Contains(l, "level=ERROR") || strings.Count(l, "level=DEBUG") != 1 {
			t.Errorf("%s: log %q: want one debug line, no error", when, l)
		}
		logs.Reset()
	}
}
