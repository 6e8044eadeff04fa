package sessionstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/codec"
)

// cart is a value type an application registers with the codec.
type cart struct{ Items []string }

// unregistered is a struct type no codec of these tests registers.
type unregistered struct{ N int }

// TestValueErrorMessages puts values the codec cannot store and checks the
// whole error the ErrorHandler gets: one prefix per layer that adds
// something (the operation, the step, the codec), the key, and advice only
// where following it helps.
func TestValueErrorMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{
			name:  "channel",
			value: make(chan int),
			want:  `sessionstore: save: encode: msgpack: a chan int cannot be stored: channels, functions and unsafe pointers are not data (key "v")`,
		},
		{
			name:  "function",
			value: func() {},
			want:  `sessionstore: save: encode: msgpack: a func() cannot be stored: channels, functions and unsafe pointers are not data (key "v")`,
		},
		{
			name:  "unregistered struct",
			value: unregistered{N: 1},
			want:  `sessionstore: save: encode: msgpack: type sessionstore_test.unregistered is not registered: register it with codec.NewMsgPack(sessionstore_test.unregistered{}) (key "v")`,
		},
		{
			name:  "unregistered pointer",
			value: &unregistered{N: 1},
			want:  `sessionstore: save: encode: msgpack: type *sessionstore_test.unregistered is not registered: register it with codec.NewMsgPack(&sessionstore_test.unregistered{}) (key "v")`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			m.Codec = codec.NewMsgPack(cart{})
			var errs errorLog
			m.ErrorHandler = errs.handler
			serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				sessionstore.FromContext(r.Context()).Put("v", tc.value)
			}).do("GET", "/")
			e := errs.take()
			if len(e) != 1 {
				t.Fatalf("errors %v, want one", e)
			}
			if got := e[0].Error(); got != tc.want {
				t.Errorf("error:\n got %s\nwant %s", got, tc.want)
			}
			if !errors.Is(e[0], codec.ErrEncode) {
				t.Errorf("error %v does not wrap codec.ErrEncode", e[0])
			}
		})
	}
}

// TestRegisteredValueCoversPointer registers cart{} and stores a *cart (and
// the other way round): each comes back as the type that was stored.
func TestRegisteredValueCoversPointer(t *testing.T) {
	t.Parallel()
	for _, example := range []any{cart{}, &cart{}} {
		t.Run(fmt.Sprintf("%T", example), func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			m.Codec = codec.NewMsgPack(example)
			var errs errorLog
			m.ErrorHandler = errs.handler
			c := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				s := sessionstore.FromContext(r.Context())
				if r.URL.Path == "/put" {
					s.Put("ptr", &cart{Items: []string{"apple"}})
					s.Put("val", cart{Items: []string{"pear"}})
					return
				}
				p, _ := s.Get("ptr")
				v, _ := s.Get("val")
				fmt.Fprintf(w, "%T %v|%T %v", p, p, v, v)
			})
			c.do("GET", "/put")
			if e := errs.take(); len(e) != 0 {
				t.Fatalf("put: %v", e)
			}
			if _, body := c.get("/read"); body != "*sessionstore_test.cart &{[apple]}|sessionstore_test.cart {[pear]}" {
				t.Errorf("read back %q", body)
			}
		})
	}
}

// TestValueErrorMessagesOtherCodecs: the gob and JSON codecs name
// themselves once, though their standard-library errors start with the
// same name.
func TestValueErrorMessagesOtherCodecs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		codec codec.Codec
		want  string
	}{
		{codec.Gob{}, `sessionstore: save: encode: gob: type not registered for interface: sessionstore_test.unregistered`},
		{codec.JSON{}, `sessionstore: save: encode: json: unsupported type: chan int`},
	} {
		t.Run(fmt.Sprintf("%T", tc.codec), func(t *testing.T) {
			t.Parallel()
			m, _ := newSpy(t, nil)
			m.Codec = tc.codec
			var errs errorLog
			m.ErrorHandler = errs.handler
			serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				v := any(unregistered{N: 1})
				if _, ok := tc.codec.(codec.JSON); ok {
					v = make(chan int)
				}
				sessionstore.FromContext(r.Context()).Put("v", v)
			}).do("GET", "/")
			e := errs.take()
			if len(e) != 1 || e[0].Error() != tc.want || !errors.Is(e[0], codec.ErrEncode) {
				t.Errorf("errors %v, want one wrapping codec.ErrEncode:\n%s", e, tc.want)
			}
		})
	}
}
