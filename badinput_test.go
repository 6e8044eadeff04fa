package sessionstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/codec"
	"github.com/sessionstore/sessionstore/memory"
)

func TestBadCookies(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	srv := newServer(t, m.Handler(http.HandlerFunc(app)))
	owner := newClient(t, srv)
	owner.get("/put?k=who&v=owner")
	good := owner.cookie()
	other := newClient(t, srv)
	other.get("/put?k=who&v=other")
	second := other.cookie()

	for _, tc := range []struct {
		name, header, want string
	}{
		{"malformed", "session=%%%not base64%%%", ""},
		{"wrong length", "session=" + good[:42], ""},
		{"oversized", "session=" + strings.Repeat("A", 5000), ""},
		{"oversized then good", "session=" + strings.Repeat("A", 5000) + "; session=" + good, "who=owner;"},
		{"unknown", "session=" + strings.Repeat("B", 43), ""},
		{"duplicated: first wins", "session=" + good + "; session=" + second, "who=owner;"},
		{"duplicated in two headers", "session=" + second + "\x00session=" + good, "who=other;"},
		{"malformed then good", "session=x; session=" + good, "who=owner;"},
		{"quoted", `session="` + good + `"`, "who=owner;"},
		{"other cookies around", "a=1; session=" + good + "; b=2", "who=owner;"},
		{"name with spaces", " session =" + good, "who=owner;"},
		{"prefix of the name", "session2=" + good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, srv)
			var hdr []string
			for _, line := range strings.Split(tc.header, "\x00") {
				hdr = append(hdr, "Cookie", line)
			}
			res, body := c.do("GET", "/read", hdr...)
			if res.StatusCode != http.StatusOK || body != tc.want {
				t.Fatalf("got %s %q, want 200 %q", res.Status, body, tc.want)
			}
			if tc.want != "" {
				return
			}
			// The bad cookie is never adopted: a write gets a fresh id.
			res, _ = c.do("GET", "/put?k=x&v=1", hdr...)
			ck := sessionCookie(res)
			if ck == nil || ck.Value == good || ck.Value == second || strings.Contains(tc.header, ck.Value) {
				t.Errorf("Set-Cookie %q: want a fresh id", res.Header.Get("Set-Cookie"))
			}
		})
	}
	if _, body := owner.get("/read"); body != "who=owner;" {
		t.Errorf("the owner's session reads %q after the bad cookies", body)
	}
}

// logBuffer returns a logger writing text into a buffer.
func logBuffer() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestUndecodableRecordStartsFreshSession(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{
		"garbage":        []byte("\xffnot a session record"),
		"empty":          {},
		"bad values":     {1, 0, 2, 0, 0xc1, 0xc1}, // header fine, values not MessagePack
		"bad flashes":    {1, 0, 2, 5, 1},
		"future format":  {9, 0, 2, 0},
		"truncated time": {1, 0, 0x80},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, spy := newSpy(t, nil)
			logger, logs := logBuffer()
			m.Logger = logger
			c := serve(t, m, app)
			c.get("/put?k=a&v=1")
			id := c.cookie()
			key := sessionstore.HashID(id)
			ctx := context.Background()
			if err := spy.Store.Save(ctx, key, data, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, body := c.get("/read"); body != "" {
					t.Fatalf("read %q, want a fresh, empty session", body)
				}
			}
			if !strings.Contains(logs.String(), "does not decode") || !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("log %q: want a warning", logs.String())
			}
			res, _ := c.get("/put?k=b&v=2")
			if ck := sessionCookie(res); ck == nil || ck.Value == id {
				t.Errorf("Set-Cookie %q: want a fresh id", res.Header.Get("Set-Cookie"))
			}
			if _, found, _ := spy.Store.Load(ctx, key); found {
				t.Error("the undecodable record was kept")
			}
			if _, body := c.get("/read"); body != "b=2;" {
				t.Errorf("read %q, want b=2;", body)
			}
		})
	}
}

func TestUndecodableRecordOfReaderIsDeletedAndCookieExpired(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	m.Logger, _ = logBuffer()
	c := serve(t, m, app)
	c.get("/put?k=a&v=1")
	key := sessionstore.HashID(c.cookie())
	if err := spy.Store.Save(context.Background(), key, []byte("junk"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res, _ := c.get("/read")
	if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("Set-Cookie %q: want the cookie of the undecodable session expired", res.Header.Get("Set-Cookie"))
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d records stored, want the undecodable one deleted", n)
	}
}

func TestStoreErrorOnOpen(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	logger, logs := logBuffer()
	m.Logger = logger
	var ran atomic.Bool
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ran.Store(true)
		app(w, r)
	})
	c.get("/put?k=a&v=1")
	ran.Store(false)
	spy.fail(errInjected, nil)
	res, body := c.do("GET", "/read")
	if res.StatusCode != http.StatusInternalServerError || len(body) > 100 {
		t.Errorf("got %s %q, want 500 with a short body", res.Status, body)
	}
	if ran.Load() {
		t.Error("the handler ran without its session")
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("Set-Cookie on a failed open")
	}
	if !strings.Contains(logs.String(), errInjected.Error()) {
		t.Errorf("log %q: want the store error", logs.String())
	}

	t.Run("custom error handler", func(t *testing.T) {
		var got error
		m.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			http.Error(w, "sorry", http.StatusServiceUnavailable)
		}
		res, _ := c.do("GET", "/read")
		if res.StatusCode != http.StatusServiceUnavailable || !errors.Is(got, errInjected) {
			t.Errorf("got %s and error %v, want 503 and the injected error", res.Status, got)
		}
	})
}

func TestStoreErrorOnSave(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	m.Logger, _ = logBuffer()
	var writeErr atomic.Pointer[error]
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("a", "1")
		_, err := io.WriteString(w, "handler body")
		writeErr.Store(&err)
	})
	spy.fail(nil, errInjected)
	res, body := c.do("GET", "/")
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "handler body") {
		t.Errorf("got %s %q, want 500 without the handler's body", res.Status, body)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("Set-Cookie %q on a failed save", res.Header.Get("Set-Cookie"))
	}
	if e := writeErr.Load(); e == nil || *e == nil {
		t.Error("the handler's Write succeeded after the failed save")
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want 0", n)
	}
}

func TestRecordTooLarge(t *testing.T) {
	t.Parallel()
	m := sessionstore.New(memory.New(memory.Options{MaxDataSize: 100}))
	var got error
	m.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "too large", http.StatusInternalServerError)
	}
	c := serve(t, m, app)
	res, _ := c.do("GET", "/put?k=big&v="+strings.Repeat("x", 200))
	if res.StatusCode != http.StatusInternalServerError || !errors.Is(got, sessionstore.ErrTooLarge) {
		t.Errorf("got %s, error %v; want 500 and ErrTooLarge", res.Status, got)
	}
}

func TestPanickingHandler(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("half", "way")
		panic(http.ErrAbortHandler)
	}))

	t.Run("the panic propagates", func(t *testing.T) {
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != http.ErrAbortHandler {
					t.Errorf("recovered %v, want http.ErrAbortHandler", p)
				}
			}()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		}()
		if sc := rec.Header().Get("Set-Cookie"); sc != "" {
			t.Errorf("Set-Cookie %q from a panicking handler", sc)
		}
	})

	t.Run("over HTTP", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.Start()
		t.Cleanup(srv.Close)
		if res, err := srv.Client().Get(srv.URL); err == nil {
			res.Body.Close()
			t.Errorf("got %s, want the connection aborted", res.Status)
		}
	})

	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want nothing saved half-way", n)
	}
}

func TestPanicAfterHeaderKeepsEarlierSave(t *testing.T) {
	t.Parallel()
	m, _ := newSpy(t, nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Put("before", "header")
		w.WriteHeader(http.StatusOK)
		s.Put("after", "header")
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	}()
	ck := sessionCookie(rec.Result())
	if ck == nil {
		t.Fatal("no cookie for the session saved with the header")
	}
	rec2 := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/read", nil)
	req.AddCookie(ck)
	m.Handler(http.HandlerFunc(app)).ServeHTTP(rec2, req)
	if body := rec2.Body.String(); body != "before=header;" {
		t.Errorf("read %q, want only the change made before the header", body)
	}
}

func TestInvalidCookieNameIsReported(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	m.Cookie.Name = "bad name;"
	var errs errorLog
	m.ErrorHandler = errs.handler
	res, _ := serve(t, m, app).do("GET", "/put?k=a&v=1")
	if e := errs.take(); res.StatusCode != http.StatusInternalServerError || len(e) != 1 || !strings.Contains(e[0].Error(), "invalid cookie name") {
		t.Errorf("got %s, errors %v; want 500 and an invalid cookie name error", res.Status, e)
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want 0: the bad name must be refused before the store is written", n)
	}
}

func TestUnencodableValueIsReported(t *testing.T) {
	t.Parallel()
	m, spy := newSpy(t, nil)
	var errs errorLog
	m.ErrorHandler = errs.handler
	c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("ch", make(chan int))
	})
	res, _ := c.do("GET", "/")
	if e := errs.take(); res.StatusCode != http.StatusInternalServerError || len(e) != 1 || !errors.Is(e[0], codec.ErrEncode) {
		t.Errorf("got %s, errors %v; want 500 and codec.ErrEncode", res.Status, e)
	}
	if n := count(t, spy); n != 0 {
		t.Errorf("%d sessions stored, want 0", n)
	}
}
