package storeurl

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestOpenNamesSilentServer opens each scheme against a listener that
// accepts connections and never answers, as a server of another protocol
// does for the drivers that wait for a greeting: Open fails when its
// context ends with a *NoAnswerError naming the address, the server
// expected and how long it was given, and a hint. (cmd/sessionstore's
// TestWrongServer does the same against the real servers of the other
// backends.)
func TestOpenNamesSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	addr := ln.Addr().String()
	for _, tc := range []struct{ url, want string }{
		{"postgres://u:secret@" + addr + "/db", "PostgreSQL"},
		{"mysql://u:secret@" + addr + "/db", "MySQL"},
		{"mongodb://" + addr, "MongoDB"},
		{"redis://" + addr + "/0", "Redis"},
		{"memcache://" + addr, "memcached"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			st, err := Open(ctx, tc.url, Options{Label: "-store"})
			if err == nil {
				st.Close(ctx)
				t.Fatal("opened a store of a server that never answers")
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Open took %v with a context of 500ms", took)
			}
			na, ok := errors.AsType[*NoAnswerError](err)
			if !ok || na.Addr != addr || na.Want != tc.want || na.Within <= 0 || na.Within > 1100*time.Millisecond {
				t.Fatalf("error %q (%T); want a *NoAnswerError naming %s, %s and a time", err, err, addr, tc.want)
			}
			if h := Hint(err); !strings.Contains(h, tc.want+" listens on ") {
				t.Errorf("hint %q does not name the server's default port", h)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
