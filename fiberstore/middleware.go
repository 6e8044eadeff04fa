package fiberstore

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionstore/sessionstore"
)

// Middleware returns Fiber v3 middleware that runs the session lifecycle of
// m around the handlers after it, with every rule of [sessionstore.Manager]:
// a visitor who never writes gets no cookie and no stored record; the cookie
// is HttpOnly and SameSite=Lax by default (see Manager.Cookie); an id is
// never adopted from a malformed or unknown cookie; Session.RenewID and
// Session.LogIn renew the id and Manager.SessionsOf lists the sessions of a
// user; concurrent requests of one session merge their changes; values go
// through the Manager's codec and, with package encrypt, are encrypted at
// rest. A handler finds the session with [Session].
//
// The Manager takes net/http types, so each request gets a small
// *http.Request holding only what the Manager reads: the method, path and
// host, the Cookie and X-Forwarded-Proto headers, the peer's address (for
// CookieOptions.TrustedProxies), the TLS state (for SecureAuto) and
// c.Context(). The rest of the request is not converted. What the save sets
// on the response (Set-Cookie, Vary, Cache-Control) is copied onto Fiber's.
//
// Fiber sends the response only after the handlers return, so the session is
// saved then, once, before anything is sent; a streamed body
// (SendStreamWriter) is written after the save, and its writer must not
// change the session. The rules of Manager.Handler hold for what goes wrong:
//   - A store error while opening goes to Manager.HandleError (the
//     ErrorHandler, default 500) and the handlers after this one do not run.
//   - A handler that returns an error is like a net/http handler that writes
//     an error response: its session is saved, and the error goes on to
//     Fiber's ErrorHandler, which answers keeping the cookie.
//   - A store error at the save goes to Manager.HandleError, whose answer
//     replaces the handler's response (status, body and the headers it
//     sets); the handler's error, if any, is then dropped.
//   - A handler that panics saves nothing; the panic goes on up (to Fiber's
//     recover middleware, if it runs before this one).
func Middleware(m *sessionstore.Manager) fiber.Handler {
	return func(c fiber.Ctx) error {
		r := newRequest(c)
		s, err := m.Open(r)
		if err != nil {
			replaceResponse(c, m, r, err)
			return nil
		}
		c.Locals(sessionKey{}, s)
		handlerErr := c.Next()

		// The Manager adds to Vary and reads Cache-Control (a private or
		// no-store response needs no other mark), so it sees the values the
		// handler set.
		resp := &c.Response().Header
		w := headerWriter{h: make(http.Header, 3)}
		for _, k := range savedHeaders {
			for _, v := range resp.PeekAll(k) {
				w.h.Add(k, string(v))
			}
		}
		if err := m.Save(w, r, s); err != nil {
			replaceResponse(c, m, r, err)
			return nil
		}
		for _, k := range savedHeaders {
			vs := w.h.Values(k)
			if len(vs) == 0 {
				continue
			}
			resp.Del(k)
			for _, v := range vs {
				resp.Add(k, v)
			}
		}
		for _, v := range w.h.Values("Set-Cookie") {
			resp.Add("Set-Cookie", v) // keyed by cookie name: replaces a cookie of the same name
		}
		return handlerErr
	}
}

// Session returns the session that [Middleware] opened for c, or nil when c
// did not go through it.
func Session(c fiber.Ctx) *sessionstore.Session {
	s, _ := c.Locals(sessionKey{}).(*sessionstore.Session)
	return s
}

// sessionKey is the key of the session in Fiber's locals.
type sessionKey struct{}

// savedHeaders are the headers besides Set-Cookie that Manager.Save may set.
var savedHeaders = [...]string{"Vary", "Cache-Control"}

// newRequest returns the *http.Request the Manager is given for c: only the
// parts it reads (see Middleware).
func newRequest(c fiber.Ctx) *http.Request {
	fc := c.RequestCtx()
	h := make(http.Header, 2)
	for _, k := range [...]string{"Cookie", "X-Forwarded-Proto"} {
		for _, v := range c.Request().Header.PeekAll(k) {
			h[k] = append(h[k], string(v)) // copied: fasthttp reuses the bytes
		}
	}
	r := &http.Request{
		Method:     c.Method(),
		URL:        &url.URL{Path: strings.Clone(c.Path())},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       string(c.Request().Host()),
		RemoteAddr: fc.RemoteAddr().String(),
		TLS:        fc.TLSConnectionState(),
	}
	return r.WithContext(c.Context())
}

// headerWriter is the http.ResponseWriter of Manager.Save, which only sets
// headers.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w headerWriter) WriteHeader(int)             {}

// recorder captures what Manager.HandleError answers.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.h }

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// replaceResponse answers c with what m's error handling answers for err,
// in place of the handler's response, as Manager.Handler does: status, body
// and the headers it sets. An answer that writes nothing (a client that
// went away, an ErrorHandler that only logs) leaves an empty 200, as under
// Handler, where the handler's writes then fail.
func replaceResponse(c fiber.Ctx, m *sessionstore.Manager, r *http.Request, err error) {
	w := &recorder{h: http.Header{}}
	m.HandleError(w, r, err)
	resp := c.Response()
	resp.ResetBody()
	resp.SetStatusCode(max(w.status, http.StatusOK))
	for k, vs := range w.h {
		resp.Header.Del(k)
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	resp.SetBodyRaw(w.body.Bytes())
}
