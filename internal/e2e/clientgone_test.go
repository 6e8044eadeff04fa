package e2e_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sessionstore/sessionstore"
)

// TestClientGoneIsNotAServerError cancels a request's context while its
// handler runs, as a browser closing the tab does, on every backend: the
// save that fails because of it gets no 500 and no error log, whatever error
// the driver makes of the cancellation.
func TestClientGoneIsNotAServerError(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := newApp(t, b.NewStore(t))
			var logs lockedBuffer
			a.m.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cookie := a.seed(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
			req.AddCookie(&http.Cookie{Name: a.m.Cookie.Name, Value: cookie})
			rec := httptest.NewRecorder()
			a.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sessionstore.FromContext(r.Context()).Put("late", "1")
				cancel() // the client goes away before the save
				w.WriteHeader(http.StatusOK)
			})).ServeHTTP(rec, req)
			if rec.Code == http.StatusInternalServerError {
				t.Errorf("a client that went away got a 500")
			}
			if l := logs.String(); strings.Contains(l, "level=ERROR") {
				t.Errorf("log: %s; want no error", l)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
