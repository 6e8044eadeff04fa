package sessionstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// errResponseReplaced is returned by writes of a handler whose session could
// not be saved: the ErrorHandler answered the request instead.
var errResponseReplaced = errors.New("sessionstore: session not saved; the ErrorHandler answered instead")

// Handler returns middleware that opens the session of each request before
// next runs and saves it when the response header is written.
//
// The handler finds the session with [FromContext] (or [Manager.Get]); a
// request whose handler never uses it, and that carries no session cookie,
// costs one allocation. The response is never buffered: the session is
// saved when next first calls WriteHeader, Write, WriteString, Flush or
// ReadFrom on its ResponseWriter, or when next returns if it wrote nothing.
// The ResponseWriter handed to next keeps http.Flusher, http.Hijacker and
// io.ReaderFrom working, and unwraps for http.ResponseController.
//
// What happens when things go wrong:
//   - A store error while opening goes to the ErrorHandler (default: 500)
//     and next does not run.
//   - A store error at the save before the header goes to the ErrorHandler,
//     which answers instead of next; next's own writes then fail.
//   - Changes made after the header was sent are saved when next returns if
//     they need no new cookie (values of a session the client already
//     holds). A change that needs one (the first value of a new session,
//     RenewID, values after Destroy) is not saved: it goes to the
//     ErrorHandler as an error wrapping ErrHeaderSent, as does a store error
//     then. Hijack counts as sending the header.
//   - When next panics before the header was written, nothing is saved and
//     the panic goes on up to net/http; a session saved earlier stays saved.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(next, w, r) })
}

// serve runs one request through Handler.
func (m *Manager) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	// A request that names a session gets the memory of its Session in
	// one piece with the rest; one that names none does not pay for it.
	var rq *request
	var into *Session
	id := cookieID(r.Header, m.Cookie.name())
	if id != "" {
		rs := &requestSession{request: request{m: m, w: w}}
		rq, into = &rs.request, &rs.sess
	} else {
		rq = &request{m: m, w: w}
	}
	s, err := m.loadInto(r, id, into)
	if err != nil {
		m.handleError(w, r, err)
		return
	}
	if s != nil {
		rq.s.Store(s)
	}
	rq.ctx = sessionContext{Context: r.Context(), rq: rq}
	// WithContext is inlined here: its copy of r lands in rq rather than in
	// an allocation of its own.
	rq.r = *r.WithContext(&rq.ctx)
	rq.rw = responseWriter{ResponseWriter: w, rq: rq}
	next.ServeHTTP(&rq.rw, &rq.r)
	rq.finish()
}

// FromContext returns the session that the innermost [Manager.Handler] put
// in ctx, or nil outside of one.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// Get returns the session that m's Handler opened for r, or nil when r did
// not come through it. Use it when several Managers (several cookies) wrap
// one handler; otherwise FromContext is enough.
func (m *Manager) Get(r *http.Request) *Session {
	s, _ := r.Context().Value(m).(*Session)
	return s
}

// ctxKey is the context key of FromContext.
type ctxKey struct{}

// request is the state of one request through Handler, allocated in one
// piece with the request, context and ResponseWriter handed to next.
type request struct {
	m *Manager
	w http.ResponseWriter // the server's
	r http.Request        // the one next gets, carrying ctx

	// s is the session: the stored one when the request named one, else
	// made on first use, so a request that never uses its session costs
	// no Session at all.
	s   atomic.Pointer[Session]
	ctx sessionContext
	rw  responseWriter

	headerSent bool // the header was written (or the save before it ran)
	failed     bool // that save failed and the ErrorHandler answered
}

// requestSession is a request whose cookie names a session, with the
// memory of that session.
type requestSession struct {
	request
	sess Session
}

// sessionContext is the request context with the session in it. It saves
// the allocation of context.WithValue; it answers Value for ctxKey{} and for
// its Manager, and leaves everything else to the parent.
type sessionContext struct {
	context.Context
	rq *request
}

// Value returns the session for ctxKey{} or the Manager, else the parent's
// value for key.
func (c *sessionContext) Value(key any) any {
	if key == (ctxKey{}) || key == any(c.rq.m) {
		return c.rq.session()
	}
	return c.Context.Value(key)
}

// session returns the session, making a new one on first use.
func (rq *request) session() *Session {
	if s := rq.s.Load(); s != nil {
		return s
	}
	rq.s.CompareAndSwap(nil, rq.m.newSession())
	return rq.s.Load()
}

// beforeHeader saves the session unless that was done, and reports whether
// the response may go on. late says no cookie can be set (Hijack).
func (rq *request) beforeHeader(late bool) bool {
	if rq.headerSent {
		return !rq.failed
	}
	rq.headerSent = true
	s := rq.s.Load()
	if s == nil {
		return true // never used, nothing stored: nothing to save
	}
	err := rq.m.save(rq.w.Header(), &rq.r, s, late)
	switch {
	case err == nil:
		return true
	case late:
		s.dropChanges() // reported once: finish must not try them again
		rq.m.handleError(rq.w, &rq.r, lateError(err))
		return true
	}
	rq.failed = true
	rq.m.handleError(rq.w, &rq.r, err)
	return false
}

// finish saves the session when next returned: all of it if next wrote
// nothing, else the changes made after the header, if any.
func (rq *request) finish() {
	if !rq.headerSent {
		rq.beforeHeader(false)
		return
	}
	s := rq.s.Load()
	if rq.failed || s == nil || !s.isDirty() {
		return
	}
	if err := rq.m.save(rq.w.Header(), &rq.r, s, true); err != nil {
		rq.m.handleError(rq.w, &rq.r, lateError(err))
	}
}

// lateError makes sure err, from a save after the header, wraps ErrHeaderSent.
func lateError(err error) error {
	if errors.Is(err, ErrHeaderSent) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, ErrHeaderSent)
}

// dropChanges forgets the changes a failed save could not store.
func (s *Session) dropChanges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = clearOps(s.ops)
	s.pending = keep
	if s.phase == undecodable {
		s.phase = unsaved
	}
}

// isDirty is dirty with the lock taken.
func (s *Session) isDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty()
}

// responseWriter saves the session before the header goes out.
type responseWriter struct {
	http.ResponseWriter
	rq *request
}

// WriteHeader saves the session, then writes the header. Informational
// headers (1xx, except 101 Switching Protocols) pass straight through.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.rq.beforeHeader(false) {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write saves the session if the header was not written, then writes p.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.rq.beforeHeader(false) {
		return 0, errResponseReplaced
	}
	return w.ResponseWriter.Write(p)
}

// WriteString is Write for a string, without converting it when the
// server's ResponseWriter has WriteString (net/http's does).
func (w *responseWriter) WriteString(str string) (int, error) {
	if !w.rq.beforeHeader(false) {
		return 0, errResponseReplaced
	}
	return io.WriteString(w.ResponseWriter, str)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError saves the session if the header was not written, then flushes;
// http.ResponseController calls it.
func (w *responseWriter) FlushError() error {
	if !w.rq.beforeHeader(false) {
		return errResponseReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker. The session is saved first, but no cookie
// can be set any more: a change that needs one is reported.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.rq.beforeHeader(true) {
		return nil, nil, errResponseReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// ReadFrom implements io.ReaderFrom, keeping the server's sendfile path
// for http.ServeContent and io.Copy.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.rq.beforeHeader(false) {
		return 0, errResponseReplaced
	}
	return io.Copy(w.ResponseWriter, src)
}

// Unwrap returns the server's ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
