package storetest

import (
	"errors"
	"strings"
	"time"

	"github.com/sessionstore/sessionstore"
)

// Rule 5: ids are opaque strings of 1 to 256 bytes, any bytes; no id can
// inject into a query or break a key format, and two different ids never
// share a record.

// oddIDs are valid ids that break stores building queries or keys from them
// carelessly.
var oddIDs = []struct{ label, id string }{
	{"SQL injection", "'; DROP TABLE sessions; --"},
	{"SQL quotes", "a'b\"c`d"},
	{"NoSQL operator", `{"$gt": ""}`},
	{"Mongo operator name", "$where"},
	{"Mongo field path", "a.b.$c"},
	{"glob star", "*"},
	{"key pattern", "session:*"},
	{"Redis hash tag", "{user}:1"},
	{"space", "a b"},
	{"only spaces", "   "},
	{"tab", "a\tb"},
	{"NUL byte", "a\x00b"},
	{"CR LF", "a\r\nb"},
	{"memcached command", "k\r\ndelete k\r\n"},
	{"control bytes", "\x01\x02\x1b[31m\x7f"},
	{"DEL byte", "a\x7fb"},
	{"non-UTF-8", "\xff\xfe\xc3\x28"},
	{"Unicode", "séance-セッション-🍪"},
	{"percent-encoded", "a%20b"},
	{"path traversal", "../../etc/passwd"},
	{"backslash", `a\b`},
	{"one byte", "x"},
	{"256 bytes", strings.Repeat("x", sessionstore.MaxIDLength)},
	{"256 bytes of every byte value", string(allBytes()[:256])},
	{"256 bytes in 86 characters", multiByteID(sessionstore.MaxIDLength)},
}

// multiByteID returns an id of n bytes made mostly of three-byte
// characters, so that it has far fewer characters than bytes.
func multiByteID(n int) string {
	return strings.Repeat("€", n/3) + strings.Repeat("x", n%3)
}

// collidingIDs are pairs of ids that become one key under a naive escaping,
// truncation or normalisation.
var collidingIDs = []struct{ label, a, b string }{
	{"colon and its hex escape", "a:b", `a\x3ab`},
	{"space and underscore", "a b", "a_b"},
	{"space and its percent-encoding", "a b", "a%20b"},
	{"dot and underscore", "a.b", "a_b"},
	{"upper and lower case", "Session", "session"},
	{"trailing space", "a", "a "},
	{"cut at a NUL byte", "a", "a\x00b"},
	{"invalid UTF-8 and the replacement character", "\xff", "\ufffd"},
	{"composed and decomposed accent", "\u00e9", "e\u0301"},
	{"256 bytes and their first 250", strings.Repeat("k", 256), strings.Repeat("k", 250)},
	{"256 bytes and their first 255", strings.Repeat("k", 256), strings.Repeat("k", 255)},
	{"colon and underscore", "a:b", "a_b"},
	{"slash and underscore", "a/b", "a_b"},
	{"trailing NUL byte", "a", "a\x00"},
	{"invalid UTF-8 dropped", "a\xff", "a"},
}

// invalidIDs must fail on every method with an error wrapping ErrInvalidID.
var invalidIDs = []struct{ label, id string }{
	{"empty", ""},
	{"257-byte", strings.Repeat("y", sessionstore.MaxIDLength+1)},
	{"258-byte multi-byte", multiByteID(sessionstore.MaxIDLength + 2)},
}

func (s *suite) idChecks() []check {
	var checks []check
	for _, c := range oddIDs {
		checks = append(checks, check{
			name: c.label + " id works with every method",
			run:  func(t tester, st *store) { s.oddID(t, st, c.id) },
		})
	}
	checks = append(checks, check{name: "all odd ids are stored apart", run: s.oddIDsApart})
	for _, c := range collidingIDs {
		checks = append(checks, check{
			name: "ids that collide after naive escaping are stored apart: " + c.label,
			run:  func(t tester, st *store) { s.idPair(t, st, c.a, c.b) },
		})
	}
	for _, c := range invalidIDs {
		checks = append(checks, check{
			name: c.label + " id fails with ErrInvalidID on every method",
			run:  func(t tester, st *store) { s.invalidID(t, st, c.id) },
		})
	}
	return checks
}

// oddID takes id through every method the store has.
func (s *suite) oddID(t tester, st *store, id string) {
	data, expiry := payload(id, 40), time.Now().Add(longLife)
	s.save(t, st, id, data, expiry)
	s.wantRecord(t, st, id, data, expiry)
	if st.toucher != nil {
		expiry = time.Now().Add(2 * longLife)
		if found, err := st.toucher.Touch(t.Context(), id, expiry); err != nil || !found {
			t.Errorf("Touch(%s) = %v, %v; want true, nil", quote(id), found, err)
		}
	}
	if st.swapper != nil {
		rec := s.mustLoad(t, st, id)
		data = payload(id+" swapped", 40)
		if ok, err := st.swapper.CompareAndSwap(t.Context(), id, rec.Version, data, expiry); err != nil || !ok {
			t.Errorf("CompareAndSwap(%s) over the loaded version = %v, %v; want true, nil", quote(id), ok, err)
		}
		s.wantRecord(t, st, id, data, expiry)
	}
	if st.iterator != nil {
		var visited []string
		err := st.iterator.Iterate(t.Context(), func(id string, _ sessionstore.Record) bool {
			visited = append(visited, id)
			return true
		})
		if err != nil || len(visited) != 1 || visited[0] != id {
			t.Errorf("Iterate visited %q, %v; want exactly %s", visited, err, quote(id))
		}
	}
	if err := st.Delete(t.Context(), id); err != nil {
		t.Errorf("Delete(%s) = %v", quote(id), err)
	}
	s.wantGone(t, st, id)
}

func (s *suite) oddIDsApart(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	for _, c := range oddIDs {
		s.save(t, st, c.id, payload(c.id, 40), expiry)
	}
	for i, c := range oddIDs {
		if i%2 == 0 {
			if err := st.Delete(t.Context(), c.id); err != nil {
				t.Errorf("Delete(%s) = %v", quote(c.id), err)
			}
		}
	}
	for i, c := range oddIDs {
		if i%2 == 0 {
			s.wantGone(t, st, c.id)
		} else {
			s.wantRecord(t, st, c.id, payload(c.id, 40), expiry)
		}
	}
}

// idPair checks that a and b are two records: saved, overwritten and
// deleted apart.
func (s *suite) idPair(t tester, st *store, a, b string) {
	expiry := time.Now().Add(longLife)
	s.save(t, st, a, payload(a, 40), expiry)
	s.save(t, st, b, payload(b, 40), expiry)
	s.wantRecord(t, st, a, payload(a, 40), expiry)
	s.wantRecord(t, st, b, payload(b, 40), expiry)
	if st.countable() {
		s.wantCount(t, st, 2)
	}
	if err := st.Delete(t.Context(), a); err != nil {
		t.Fatalf("Delete(%s) = %v", quote(a), err)
	}
	s.wantGone(t, st, a)
	s.wantRecord(t, st, b, payload(b, 40), expiry)
}

// invalidID calls every method with id and checks that each fails with an
// error wrapping ErrInvalidID, never panics, and writes nothing.
func (s *suite) invalidID(t tester, st *store, id string) {
	for _, o := range idOps(st) {
		var claimed bool
		var err error
		if !within(t, promptly, o.name+"("+quote(id)+")", func() { claimed, err = o.call(t.Context(), st, id) }) {
			continue
		}
		if !errors.Is(err, sessionstore.ErrInvalidID) {
			t.Errorf("%s(%s) = %v; want an error wrapping ErrInvalidID", o.name, quote(id), err)
		}
		if claimed {
			t.Errorf("%s(%s) %s", o.name, quote(id), o.claim)
		}
	}
	// A store that cuts ids to length would have written the 256-byte
	// prefix.
	if len(id) > sessionstore.MaxIDLength {
		s.wantGone(t, st, id[:sessionstore.MaxIDLength])
	}
	if st.countable() {
		s.wantCount(t, st, 0)
	}
}
