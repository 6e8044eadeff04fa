package gorillastore_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/codec"
	"github.com/sessionstore/sessionstore/gorillastore"
	"github.com/sessionstore/sessionstore/memory"
)

// cart is an application's struct, registered with the store's codec only
// (never with gob.Register).
type cart struct {
	Items []string
	Total int64
	At    time.Time
}

// TestCodec: with Store.Codec set, a session round-trips through
// gorilla/sessions in the library's codec: a struct registered with that
// codec alone comes back as itself, an int64 stays an int64, a time keeps
// its zone (a time at the top level; in a struct it keeps its instant); the stored record is the codec's encoding; a key that is not a
// string fails the Save wrapping codec.ErrEncode and stores nothing.
func TestCodec(t *testing.T) {
	st := memory.New(memory.Options{})
	defer st.Close()
	gs := gorillastore.New(st)
	c := codec.NewMsgPack(cart{})
	gs.Codec = c
	at := time.Date(2026, 12, 7, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	want := cart{Items: []string{"tea"}, Total: 450, At: at}

	r := httptest.NewRequest("GET", "/", nil)
	s, err := gs.Get(r, "cart")
	if err != nil {
		t.Fatal(err)
	}
	s.Values["cart"] = want
	s.Values["visits"] = int64(3)
	s.Values["at"] = at
	w := httptest.NewRecorder()
	if err := sessions.Save(r, w); err != nil {
		t.Fatalf("Save with a codec: %v", err)
	}
	var stored []byte
	st.Iterate(context.Background(), func(_ string, rec sessionstore.Record) bool { stored = rec.Data; return false })
	if vals, err := c.Decode(stored); err != nil || vals["visits"] != int64(3) {
		t.Fatalf("the stored record is not the codec's encoding: %v, %v", vals, err)
	}

	r = httptest.NewRequest("GET", "/", nil)
	for _, ck := range w.Result().Cookies() {
		r.AddCookie(ck)
	}
	s, err = gs.Get(r, "cart")
	if err != nil {
		t.Fatalf("Get of the saved session: %v", err)
	}
	got, ok := s.Values["cart"].(cart)
	if !ok || got.Total != want.Total || len(got.Items) != 1 || !got.At.Equal(at) {
		t.Fatalf("cart read back = %#v (%T), want %#v", s.Values["cart"], s.Values["cart"], want)
	}
	if v, ok := s.Values["visits"].(int64); !ok || v != 3 {
		t.Fatalf("visits read back = %#v (%T), want int64 3", s.Values["visits"], s.Values["visits"])
	}
	if v, ok := s.Values["at"].(time.Time); !ok || !v.Equal(at) || v.Location().String() != "CET" {
		t.Fatalf("at read back = %#v, want %v in its zone", s.Values["at"], at)
	}

	bad := httptest.NewRequest("GET", "/", nil)
	s, _ = gs.Get(bad, "other")
	s.Values[42] = "x"
	if err := s.Save(bad, httptest.NewRecorder()); !errors.Is(err, codec.ErrEncode) {
		t.Fatalf("Save of a non-string key with a codec = %v, want an error wrapping codec.ErrEncode", err)
	}
	if n, _ := st.Count(context.Background()); n != 1 {
		t.Fatalf("%d records after the failed save, want the 1 saved before", n)
	}
}
