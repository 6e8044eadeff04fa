package sessionstore_test

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
)

func TestSessionValues(t *testing.T) {
	t.Parallel()
	s := new(sessionstore.Session)
	if s.Modified() || s.Len() != 0 {
		t.Fatal("a fresh session is modified or not empty")
	}
	s.Put("name", "ann")
	s.Put("n", 3)
	s.Put("ok", true)
	when := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	s.Put("when", when)
	s.Put("raw", []byte{1, 2})
	if !s.Modified() {
		t.Error("Put did not mark the session modified")
	}
	if s.GetString("name") != "ann" || s.GetInt("n") != 3 || !s.GetBool("ok") ||
		!s.GetTime("when").Equal(when) || !slices.Equal(s.GetBytes("raw"), []byte{1, 2}) {
		t.Error("typed getters do not return what was put")
	}
	if s.GetString("n") != "" || s.GetInt("name") != 0 || s.GetBool("missing") {
		t.Error("a getter of the wrong type or a missing key is not the zero value")
	}
	if got := s.Keys(); !slices.Equal(got, []string{"n", "name", "ok", "raw", "when"}) {
		t.Errorf("Keys %q", got)
	}
	if v, ok := s.Pop("name"); v != "ann" || !ok {
		t.Errorf("Pop = %v, %v", v, ok)
	}
	if _, ok := s.Pop("name"); ok {
		t.Error("Pop of a popped key found it")
	}
	s.Delete("n")
	if _, ok := s.Get("n"); ok {
		t.Error("Delete kept the key")
	}
	vals := s.Values()
	vals["injected"] = 1
	if _, ok := s.Get("injected"); ok {
		t.Error("Values is not a copy")
	}
	s.Update("c", func(old any) any {
		if old != nil {
			t.Errorf("Update of a missing key got %v", old)
		}
		return 1
	})
	s.Update("c", func(old any) any { return old.(int) + 1 })
	if s.GetInt("c") != 2 {
		t.Errorf("Update: c = %v", s.GetInt("c"))
	}
	s.Flash("info", "x")
	s.Clear()
	if s.Len() != 0 || len(s.PeekFlashes()) != 0 {
		t.Error("Clear left values or flashes")
	}
}

func TestSessionPermanentFlag(t *testing.T) {
	t.Parallel()
	s := new(sessionstore.Session)
	s.SetPermanent(false)
	if s.Modified() {
		t.Error("SetPermanent to the current value modified the session")
	}
	s.SetPermanent(true)
	if !s.Permanent() || !s.Modified() {
		t.Error("SetPermanent(true) did not take")
	}
}

func TestTypedGettersConvertNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v     any
		i     int
		i64   int64
		f     float64
		isInt bool
	}{
		{int8(-5), -5, -5, -5, true},
		{uint8(200), 200, 200, 200, true},
		{int32(7), 7, 7, 7, true},
		{uint64(math.MaxUint64), 0, 0, math.MaxUint64, false},
		{float64(42), 42, 42, 42, true}, // JSON's numbers
		{float64(1.5), 0, 0, 1.5, false},
		{float32(2), 2, 2, 2, true},
		{math.NaN(), 0, 0, math.NaN(), false},
		{"7", 0, 0, 0, false},
	} {
		s := new(sessionstore.Session)
		s.Put("k", tc.v)
		if got := s.GetInt("k"); got != tc.i {
			t.Errorf("GetInt(%T %v) = %d, want %d", tc.v, tc.v, got, tc.i)
		}
		if got := s.GetInt64("k"); got != tc.i64 {
			t.Errorf("GetInt64(%T %v) = %d, want %d", tc.v, tc.v, got, tc.i64)
		}
		if got := s.GetFloat64("k"); got != tc.f && !(math.IsNaN(got) && math.IsNaN(tc.f)) {
			t.Errorf("GetFloat64(%T %v) = %v, want %v", tc.v, tc.v, got, tc.f)
		}
		if _, ok := sessionstore.Get[int](s, "k"); ok != tc.isInt {
			t.Errorf("Get[int](%T %v) ok = %v, want %v", tc.v, tc.v, ok, tc.isInt)
		}
	}
}

func TestGenericGet(t *testing.T) {
	t.Parallel()
	s := new(sessionstore.Session)
	s.Put("roles", []any{"a", "b"})
	s.Put("when", "2030-01-02T03:04:05Z") // what JSON gives back for a time
	if got, ok := sessionstore.Get[[]any](s, "roles"); !ok || !reflect.DeepEqual(got, []any{"a", "b"}) {
		t.Errorf("Get[[]any] = %v, %v", got, ok)
	}
	if _, ok := sessionstore.Get[map[string]any](s, "roles"); ok {
		t.Error("Get of the wrong type reported ok")
	}
	if _, ok := sessionstore.Get[string](s, "missing"); ok {
		t.Error("Get of a missing key reported ok")
	}
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if got, ok := sessionstore.Get[time.Time](s, "when"); !ok || !got.Equal(want) {
		t.Errorf("Get[time.Time] of an RFC 3339 string = %v, %v", got, ok)
	}
	if !s.GetTime("when").Equal(want) {
		t.Error("GetTime of an RFC 3339 string")
	}
}

func TestFlashesFilterAndOrder(t *testing.T) {
	t.Parallel()
	s := new(sessionstore.Session)
	s.Flash("info", "1")
	s.Flash("error", "2")
	s.Flash("info", "3")
	s.Flash("warn", "4")
	want := []sessionstore.FlashMessage{{"error", "2"}, {"warn", "4"}}
	if got := s.PeekFlashes("error", "warn"); !slices.Equal(got, want) {
		t.Errorf("PeekFlashes = %v", got)
	}
	if got := s.Flashes("error", "warn"); !slices.Equal(got, want) {
		t.Errorf("Flashes = %v", got)
	}
	if got := s.Flashes(); !slices.Equal(got, []sessionstore.FlashMessage{{"info", "1"}, {"info", "3"}}) {
		t.Errorf("remaining Flashes = %v", got)
	}
	if got := s.Flashes(); got != nil {
		t.Errorf("Flashes after taking all = %v", got)
	}
}

func TestSessionIsSafeForGoroutinesOfOneRequest(t *testing.T) {
	t.Parallel()
	s := new(sessionstore.Session)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				s.Put("k", j)
				s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
				_ = s.GetInt("k")
				_ = s.Keys()
				s.Flash("c", "m")
				if i%2 == 0 {
					s.Flashes()
				}
			}
		})
	}
	wg.Wait()
	if s.GetInt("n") != 800 {
		t.Errorf("n = %d, want 800", s.GetInt("n"))
	}
}
