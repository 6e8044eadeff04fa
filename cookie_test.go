package sessionstore

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// FuzzCookieID checks the allocation-free cookie parser against net/http's:
// for any Cookie header, cookieID returns the first value net/http parses for
// the name that is a well-formed id, and never anything else.
func FuzzCookieID(f *testing.F) {
	id := newID()
	for _, seed := range []string{
		"",
		"session=" + id,
		"session=" + id + "; other=1",
		"a=1; session=" + id + "; b=2",
		`session="` + id + `"`,
		" session = " + id,
		"session =" + id,
		"session=" + id[:42],
		"session=" + id + "A",
		"session=" + strings.Repeat("A", 5000),
		"session=x; session=" + id,
		"session=" + id + "; session=" + newID(),
		"session",
		"session=",
		";;;session=" + id + ";;",
		"session=" + id[:20] + "!" + id[21:],
		"sess\x00ion=" + id,
		"session=\"" + id,
		"\tsession=" + id + "\t",
	} {
		f.Add(seed, "")
	}
	f.Add("session="+id, "session="+newID())
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{"Cookie": {line1}}
		if line2 != "" {
			h["Cookie"] = append(h["Cookie"], line2)
		}
		got := cookieID(h, "session")
		if got != "" && !validID(got) {
			t.Fatalf("cookieID returned the malformed id %q", got)
		}
		if strings.Count(line1+line2, ";") >= 3000 {
			return // net/http then gives up on the header (GODEBUG httpcookiemaxnum)
		}
		want := ""
		for _, c := range (&http.Request{Header: h}).CookiesNamed("session") {
			if validID(c.Value) {
				want = c.Value
				break
			}
		}
		if got != want {
			t.Fatalf("cookieID(%q) = %q, net/http's first valid value is %q", h["Cookie"], got, want)
		}
	})
}

func TestNewIDs(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := newID()
		if !validID(id) || seen[id] {
			t.Fatalf("newID gave %q (valid %v, seen %v)", id, validID(id), seen[id])
		}
		seen[id] = true
	}
	if h := hashID("x"); len(h) != 43 || h == hashID("y") || !validID(h) {
		t.Errorf("hashID = %q", h)
	}
}

// FuzzDecodeRecord feeds stored bytes of any kind to the record decoder: it
// never panics, fails only with errors wrapping codec.ErrDecode, and what it
// decodes encodes back to a record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	c := codec.Default()
	for _, st := range []state{
		{},
		{created: time.Unix(1700000000, 5), permanent: true},
		{values: map[string]any{"a": int64(1), "b": "x"}, flashes: []FlashMessage{{"info", "hi"}}},
	} {
		data, err := encodeState(nil, c, &st)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{1, 0, 0, 200})
	f.Add([]byte{1, 0, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data, c)
		if err != nil {
			if !isDecodeErr(err) {
				t.Fatalf("error %v does not wrap codec.ErrDecode", err)
			}
			return
		}
		again, err := encodeState(nil, c, &st)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		st2, err := decodeState(again, c)
		if err != nil || st2.permanent != st.permanent || !st2.created.Equal(st.created) ||
			len(st2.vals()) != len(st.vals()) || len(st2.flashes) != len(st.flashes) {
			t.Fatalf("round trip of %+v gave %+v, %v", st, st2, err)
		}
	})
}

func isDecodeErr(err error) bool { return errors.Is(err, codec.ErrDecode) }
