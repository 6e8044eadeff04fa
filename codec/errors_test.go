package codec_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// allCodecs are the codecs under test, by name.
func allCodecs() []struct {
	name  string
	codec codec.Codec
} {
	return []struct {
		name  string
		codec codec.Codec
	}{
		{"MsgPack", newMsgPack()},
		{"MsgPack zero value", codec.MsgPack{}},
		{"Gob", codec.Gob{}},
		{"JSON", codec.JSON{}},
	}
}

// sample is a session every codec encodes, with a value of each common kind.
func sample() map[string]any {
	return map[string]any{
		"user_id":   int64(123456789),
		"name":      "Ada Lovelace",
		"roles":     []any{"admin", "editor"},
		"last_seen": time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC),
		"csrf":      bytes.Repeat([]byte{0xab}, 32),
		"prefs":     map[string]any{"theme": "dark", "count": 3, "ratio": 0.5, "on": true, "none": nil},
		"perms":     []string{"read", "write"},
		"ids":       []int{7, 300, -1},
		"recent":    []int64{1 << 40, 5},
		"weights":   []float64{0.25, -1},
		"flags":     []bool{true, false},
		"keys":      [][]byte{{1, 2}, {}},
		"labels":    map[string]string{"env": "prod"},
		"counts":    map[string]int{"views": 3, "big": 70000},
	}
}

// garbage is input no codec decodes, by what it is.
func garbage() map[string][]byte {
	return map[string][]byte{
		"nil":                         nil,
		"empty":                       {},
		"zero byte":                   {0},
		"text":                        []byte("not a session"),
		"json array":                  []byte(`[1,2,3]`),
		"json null":                   []byte(`null`),
		"json string":                 []byte(`"s"`),
		"msgpack int":                 {0x05},
		"msgpack nil":                 {0xc0},
		"msgpack array":               {0x91, 0x01},
		"msgpack map32":               {0xdf, 0xff, 0xff, 0xff, 0xff}, // 4 billion entries announced, none present
		"msgpack str32":               {0x81, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"msgpack int key":             {0x81, 0x01, 0x01},
		"msgpack bad code":            {0x81, 0xa1, 'k', 0xc1},
		"msgpack ext -1":              {0x81, 0xa1, 'k', 0xd4, 0xff, 0x00},
		"msgpack ext 99":              {0x81, 0xa1, 'k', 0xd4, 99, 0x00},
		"msgpack int8 ext of 2 bytes": {0x81, 0xa1, 'k', 0xd5, 1, 0, 0},
		"msgpack time of 4 bytes":     {0x81, 0xa1, 'k', 0xd6, 10, 0, 0, 0, 0},
		"msgpack time 2e9 ns": {0x81, 0xa1, 'k', 0xc7, 13, 10,
			0, 0, 0, 0, 0, 0, 0, 0, 0x77, 0x35, 0x94, 0x00, 0},
		"msgpack time zone kind 9": {0x81, 0xa1, 'k', 0xc7, 13, 10,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
		"msgpack unregistered type": {0x81, 0xa1, 'k', 0xc7, 4, 11, 0xa3, 'a', '.', 'B'},

		// Slices and maps of one element type: an extension type (12 to
		// 19), then one MessagePack array or map filling the payload.
		"msgpack []string without payload":             {0x81, 0xa1, 'k', 0xc7, 0, 12},
		"msgpack []string not an array":                {0x81, 0xa1, 'k', 0xd4, 12, 0xa0},
		"msgpack []string of an int":                   {0x81, 0xa1, 'k', 0xd5, 12, 0x91, 0x01},
		"msgpack []string trailing byte":               {0x81, 0xa1, 'k', 0xd6, 12, 0x91, 0xa1, 'x', 0xc0},
		"msgpack []string of 4 billion":                {0x81, 0xa1, 'k', 0xc7, 5, 12, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"msgpack []string of 15, 1 present":            {0x81, 0xa1, 'k', 0xd5, 12, 0x9f, 0xc0},
		"msgpack []string str past payload":            {0x81, 0xa1, 'k', 0xd5, 12, 0x91, 0xa5, 'a', 'b', 'c', 'd', 'e'},
		"msgpack []int over int64":                     {0x81, 0xa1, 'k', 0xc7, 10, 13, 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"msgpack []int of nil":                         {0x81, 0xa1, 'k', 0xd5, 13, 0x91, 0xc0},
		"msgpack []int64 of a float":                   {0x81, 0xa1, 'k', 0xc7, 10, 14, 0x91, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},
		"msgpack []int64 of an int8 extension":         {0x81, 0xa1, 'k', 0xc7, 4, 14, 0x91, 0xd4, 1, 5},
		"msgpack []float64 of a float32":               {0x81, 0xa1, 'k', 0xc7, 6, 15, 0x91, 0xca, 0, 0, 0, 0},
		"msgpack []float64 truncated float":            {0x81, 0xa1, 'k', 0xc7, 4, 15, 0x91, 0xcb, 0, 0},
		"msgpack []bool of nil":                        {0x81, 0xa1, 'k', 0xd5, 16, 0x91, 0xc0},
		"msgpack [][]byte of a string":                 {0x81, 0xa1, 'k', 0xd6, 17, 0x91, 0xa2, 'a', 'b'},
		"msgpack [][]byte of a bin 32 of 4 GB":         {0x81, 0xa1, 'k', 0xc7, 6, 17, 0x91, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"msgpack map[string]string of an int":          {0x81, 0xa1, 'k', 0xd6, 18, 0x81, 0xa1, 'a', 0x01},
		"msgpack map[string]string int key":            {0x81, 0xa1, 'k', 0xd6, 18, 0x81, 0x01, 0xa1, 'a'},
		"msgpack map[string]string an array":           {0x81, 0xa1, 'k', 0xd5, 18, 0x91, 0xa0},
		"msgpack map[string]int of a string":           {0x81, 0xa1, 'k', 0xd6, 19, 0x81, 0xa1, 'a', 0xa0},
		"msgpack map[string]int of 4 billion":          {0x81, 0xa1, 'k', 0xc7, 5, 19, 0xdf, 0xff, 0xff, 0xff, 0xff},
		"msgpack map[string]int of an int16 extension": {0x81, 0xa1, 'k', 0xc7, 6, 19, 0x81, 0xa1, 'a', 0xd5, 2, 0, 1},
		"msgpack ext 20":                               {0x81, 0xa1, 'k', 0xd5, 20, 0x91, 0xc0},

		"msgpack trailing byte": {0x80, 0x00},
		"msgpack deep nesting":  append([]byte{0x81, 0xa1, 'k'}, bytes.Repeat([]byte{0x91}, 100000)...),
		"gob header only":       {0x03, 0x04, 0x00},
		"json trailing":         []byte(`{"a":1} {"b":2}`),
		"json number too large": []byte(`{"a":1e400}`),
		"json deep nesting":     []byte(`{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`),
	}
}

func TestDecodeGarbage(t *testing.T) {
	garbage := garbage()
	for _, c := range allCodecs() {
		for name, data := range garbage {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				m, err := c.codec.Decode(data)
				if !errors.Is(err, codec.ErrDecode) {
					t.Fatalf("Decode(%q) = %v, %v; want an error wrapping ErrDecode", data, m, err)
				}
				if m != nil {
					t.Errorf("Decode returned a map with its error: %v", m)
				}
			})
		}
	}
}

// TestDecodeTruncated cuts a valid encoding at every length: every strict
// prefix must fail with ErrDecode, never panic or succeed.
func TestDecodeTruncated(t *testing.T) {
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.codec.Encode(sample())
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(data) {
				if _, err := c.codec.Decode(data[:n]); !errors.Is(err, codec.ErrDecode) {
					t.Fatalf("Decode of the first %d of %d bytes: %v, want ErrDecode", n, len(data), err)
				}
			}
		})
	}
}

// TestDecodeCorrupted flips every bit of a valid encoding in turn: the
// result may decode (into other values) or fail with ErrDecode, never panic
// or fail otherwise.
func TestDecodeCorrupted(t *testing.T) {
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.codec.Encode(sample())
			if err != nil {
				t.Fatal(err)
			}
			for i := range len(data) * 8 {
				bad := bytes.Clone(data)
				bad[i/8] ^= 1 << (i % 8)
				if _, err := c.codec.Decode(bad); err != nil && !errors.Is(err, codec.ErrDecode) {
					t.Fatalf("bit %d flipped: %v, want nil or ErrDecode", i, err)
				}
			}
		})
	}
}

// TestDecodeOtherCodec: data written by one codec is not silently misread
// by another, as after switching a Manager's codec.
func TestDecodeOtherCodec(t *testing.T) {
	for _, w := range allCodecs() {
		data, err := w.codec.Encode(sample())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range allCodecs() {
			if sameFormat(w.name, r.name) {
				continue
			}
			t.Run(w.name+" read by "+r.name, func(t *testing.T) {
				if _, err := r.codec.Decode(data); !errors.Is(err, codec.ErrDecode) {
					t.Fatalf("Decode: %v, want ErrDecode", err)
				}
			})
		}
	}
}

// sameFormat reports whether two of allCodecs write the same format.
func sameFormat(a, b string) bool {
	format := func(name string) string {
		if strings.HasPrefix(name, "MsgPack") {
			return "MsgPack"
		}
		return name
	}
	return format(a) == format(b)
}

func TestEncodeUnsupported(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	cyclicSlice := []any{nil}
	cyclicSlice[0] = cyclicSlice
	values := map[string]any{
		"channel":           make(chan int),
		"func":              func() {},
		"channel in a map":  map[string]any{"a": map[string]any{"c": make(chan int)}},
		"func in a slice":   []any{1, func() {}},
		"cyclic map":        cyclic,
		"cyclic slice":      cyclicSlice,
		"complex":           complex(1, 2), // MsgPack and JSON only
		"NaN":               math.NaN(),    // JSON only
		"unregistered type": struct{ A int }{1},
		"[]int32":           []int32{1}, // not built in: MsgPack needs registration
		"map[string]bool":   map[string]bool{"a": true},
	}
	accepts := map[string][]string{ // values a codec can encode after all
		"Gob":                {"complex", "NaN", "[]int32"}, // encoding/gob registers slices of basic kinds
		"MsgPack":            {"NaN"},
		"MsgPack zero value": {"NaN"},
		"JSON":               {"unregistered type", "[]int32", "map[string]bool"},
	}
	for _, c := range allCodecs() {
		for name, v := range values {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				data, err := c.codec.Encode(map[string]any{"ok": 1, "bad": v})
				for _, ok := range accepts[c.name] {
					if ok == name {
						if err != nil {
							t.Fatalf("Encode: %v", err)
						}
						return
					}
				}
				if !errors.Is(err, codec.ErrEncode) {
					t.Fatalf("Encode = %d bytes, %v; want an error wrapping ErrEncode", len(data), err)
				}
				if data != nil {
					t.Errorf("Encode returned data with its error")
				}
			})
		}
	}
}

// TestNesting: everything Encode accepts decodes, up to the nesting limit
// of 1000 maps and slices.
func TestNesting(t *testing.T) {
	nested := func(depth int) map[string]any {
		var v any = "leaf"
		for i := range depth - 1 {
			if i%2 == 0 {
				v = []any{v}
			} else {
				v = map[string]any{"k": v}
			}
		}
		return map[string]any{"k": v}
	}
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.codec.Encode(nested(1000))
			if err != nil {
				t.Fatalf("1000 levels: %v", err)
			}
			if _, err := c.codec.Decode(data); err != nil {
				t.Fatalf("1000 levels: %v", err)
			}
			if c.name == "JSON" {
				return // encoding/json's own limit is 10000 levels
			}
			if _, err := c.codec.Encode(nested(1001)); !errors.Is(err, codec.ErrEncode) {
				t.Fatalf("1001 levels: %v, want ErrEncode", err)
			}
		})
	}
}

func TestEncodeNil(t *testing.T) {
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.codec.Encode(nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.codec.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if m == nil || len(m) != 0 {
				t.Fatalf("Decode(Encode(nil)) = %#v, want an empty, non-nil map", m)
			}
		})
	}
}

// TestDecodeDoesNotAlias: the decoded map shares no memory with the data,
// which the caller (a store's buffer) may reuse.
func TestDecodeDoesNotAlias(t *testing.T) {
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.codec.Encode(sample())
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.codec.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			clear(data)
			want, err := c.codec.Decode(mustEncode(t, c.codec, sample()))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(m, want) {
				t.Fatalf("after the data was overwritten: %v, want %v", m, want)
			}
		})
	}
}

func mustEncode(t testing.TB, c codec.Codec, m map[string]any) []byte {
	t.Helper()
	data, err := c.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestConcurrentUse runs encodes and decodes of one codec value in
// parallel, for the race detector (MsgPack shares its zone cache).
func TestConcurrentUse(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	for _, c := range allCodecs() {
		t.Run(c.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						m := sample()
						m["at"] = time.Date(2024, 1, 1, g, i, 0, 0, paris)
						data, err := c.codec.Encode(m)
						if err == nil {
							_, err = c.codec.Decode(data)
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
