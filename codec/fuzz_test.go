package codec_test

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore/codec"
)

// The seeds of every fuzz target run in the normal go test; to fuzz:
//
//	go test -run '^$' -fuzz FuzzMsgPackDecode -fuzztime 30s ./codec/

// addSeeds adds a valid encoding of several sessions, then every garbage
// input, to f's corpus, leaving out those over maxSeed bytes.
func addSeeds(f *testing.F, c codec.Codec, extra ...map[string]any) {
	f.Helper()
	sessions := append([]map[string]any{sample(), typicalSession(), {}}, extra...)
	for _, m := range sessions {
		data, err := c.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= maxSeed {
			f.Add(data)
		}
	}
	for _, data := range garbage() {
		if len(data) <= maxSeed {
			f.Add(data)
		}
	}
}

// maxSeed keeps large inputs out of the fuzz corpora. The fuzzer minimizes
// every new interesting input, and its last pass tries every range of bytes
// to drop: n² execs for n bytes, cut off after -fuzzminimizetime (60 s).
// Mutants of a 4 KB seed kept both workers minimizing, not fuzzing, for
// most of a 30 s run; 512 bytes takes a fraction of a second.
const maxSeed = 512

// everyKind is the cases of TestRoundTrip that c encodes, in as few
// sessions as hold them in maxSeed bytes each, so that the decoders' seeds
// cover every kind of value (one session of them all would be dropped as
// too large).
func everyKind(f *testing.F, c codec.Codec) []map[string]any {
	registerGob(f, user{})
	var sessions []map[string]any
	m := map[string]any{}
	for _, tc := range roundTripCases(f) {
		if data, err := c.Encode(map[string]any{"v": tc.in}); err != nil || len(data) > maxSeed {
			continue
		}
		m[tc.name] = tc.in
		if len(mustEncode(f, c, m)) > maxSeed {
			delete(m, tc.name)
			sessions = append(sessions, m)
			m = map[string]any{tc.name: tc.in}
		}
	}
	return append(sessions, m)
}

// checkDecodeError fails unless err is nil or wraps ErrDecode with no map.
func checkDecodeError(t *testing.T, m map[string]any, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, codec.ErrDecode) {
		t.Fatalf("Decode error %v does not wrap ErrDecode", err)
	}
	if err != nil && m != nil {
		t.Fatalf("Decode returned a map with its error %v", err)
	}
	if err == nil && m == nil {
		t.Fatal("Decode returned a nil map and no error")
	}
}

// FuzzMsgPackDecode: any input decodes or fails with ErrDecode; what
// decodes encodes again, to data that decodes to the same values.
func FuzzMsgPackDecode(f *testing.F) {
	c := newMsgPack()
	addSeeds(f, c, everyKind(f, c)...)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := c.Decode(data)
		checkDecodeError(t, m, err)
		if err != nil {
			return
		}
		again, err := c.Encode(m)
		if err != nil {
			t.Fatalf("Encode of decoded values %v: %v", m, err)
		}
		m2, err := c.Decode(again)
		if err != nil {
			t.Fatalf("Decode of re-encoded values: %v", err)
		}
		if !equal(m2, m) {
			t.Fatalf("decode, encode, decode: %v, want %v", m2, m)
		}
	})
}

// FuzzMsgPackRoundTrip: values of every built-in kind (the slices and maps
// of one element type too), built from the fuzzer's numbers and strings,
// come back exactly.
func FuzzMsgPackRoundTrip(f *testing.F) {
	f.Add("key", int64(1), uint64(2), 3.5, []byte("b"), int64(1700000000), uint32(5), int32(3600), "Europe/Paris")
	f.Add("", int64(math.MinInt64), uint64(math.MaxUint64), math.Inf(-1), []byte(nil), int64(-62135596800), uint32(999999999), int32(-43200), "")
	f.Add("é", int64(-33), uint64(128), math.NaN(), []byte{}, int64(math.MaxInt64), uint32(0), int32(19800), "UTC")
	c := newMsgPack()
	f.Fuzz(func(t *testing.T, key string, i int64, u uint64, fl float64, b []byte, sec int64, nsec uint32, offset int32, zone string) {
		when := time.Unix(sec, int64(nsec%1e9))
		var loc *time.Location
		switch {
		case offset%3 == 0:
			loc = time.FixedZone(zone, int(offset))
		case offset%3 == 1:
			loc = time.UTC
		default:
			loc = time.Local
		}
		if l, err := time.LoadLocation(zone); err == nil && offset%2 == 0 {
			loc = l
		}
		in := map[string]any{
			"list": []any{int(i), int8(i), int16(i), int32(i), i, uint(u), uint8(u), uint16(u),
				uint32(u), u, float32(fl), fl, b, key, i%2 == 0, nil, when.In(loc)},
			"map":       map[string]any{key: b},
			"strings":   []string{key, zone},
			"ints":      []int{int(i), int(offset), int(nsec)},
			"int64s":    []int64{i, sec, int64(u)},
			"float64s":  []float64{fl, float64(i), math.Float64frombits(u)}, // every NaN payload too
			"bools":     []bool{i%2 == 0, u%2 == 0},
			"bytes":     [][]byte{b, []byte(key)},
			"stringMap": map[string]string{key: zone, zone: key},
			"intMap":    map[string]int{key: int(i), zone: int(offset)},
		}
		data, err := c.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil { // nil []byte comes back empty
			b = []byte{}
			in["list"].([]any)[12] = b
			in["map"].(map[string]any)[key] = b
			in["bytes"].([][]byte)[0] = b
		}
		in["list"].([]any)[16] = when.In(loc).Round(0)
		if !equal(out, in) {
			t.Fatalf("got %v\nwant %v", out, in)
		}
	})
}

// FuzzGobDecode: any input decodes or fails with ErrDecode, without a
// panic. (Unlike MsgPack, what gob decodes need not encode again: gob can
// decode a nil pointer inside an interface, and not encode one.)
func FuzzGobDecode(f *testing.F) {
	c := codec.Gob{}
	addSeeds(f, c, everyKind(f, c)...)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := c.Decode(data)
		checkDecodeError(t, m, err)
	})
}

// FuzzJSONDecode: any input decodes or fails with ErrDecode; what decodes
// encodes again, and that encoding is a fixed point: decoding and encoding
// it again gives the same bytes.
func FuzzJSONDecode(f *testing.F) {
	c := codec.JSON{}
	addSeeds(f, c, everyKind(f, c)...)
	for _, s := range []string{`{"a":1.0,"b":-0,"c":1e400}`, `{"a":18446744073709551616}`, `{"\ud800":"\xff"}`, ` {} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := c.Decode(data)
		checkDecodeError(t, m, err)
		if err != nil {
			return
		}
		once, err := c.Encode(m)
		if err != nil {
			t.Fatalf("Encode of decoded values %v: %v", m, err)
		}
		m2, err := c.Decode(once)
		if err != nil {
			t.Fatalf("Decode of %s: %v", once, err)
		}
		twice, err := c.Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encode(decode(x)) is not a fixed point:\n%s\n%s", once, twice)
		}
	})
}

// FuzzMsgPackLazy: whatever Scan accepts, DecodeShared decodes, and
// FindShared finds each value as DecodeShared gives it, and nothing else.
func FuzzMsgPackLazy(f *testing.F) {
	c := newMsgPack()
	addSeeds(f, c, everyKind(f, c)...)
	f.Add([]byte{0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02}) // a duplicate key: the last wins
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, ok := c.Scan(data)
		if !ok {
			return
		}
		m, err := c.DecodeShared(data)
		if err != nil {
			t.Fatalf("Scan accepted what DecodeShared rejects: %v", err)
		}
		if len(entries) < len(m) {
			t.Fatalf("Scan found %d entries; DecodeShared gave %d", len(entries), len(m))
		}
		for k, want := range m {
			got, found := c.FindShared(data, entries, k)
			if !found || !equal(map[string]any{k: got}, map[string]any{k: want}) {
				t.Fatalf("FindShared(%q) = %#v, %v; want %#v", k, got, found, want)
			}
		}
		if v, found := c.FindShared(data, entries, "\x00not a key"); found && m["\x00not a key"] == nil {
			t.Fatalf("FindShared found %#v under a key Decode does not have", v)
		}
		// A patch sets one existing key (if any) and adds one.
		changes := map[string]any{"\x00added": int64(7)}
		for k := range m {
			changes[k] = "patched"
			break
		}
		patched, err := c.AppendPatch([]byte("prefix"), data, changes)
		if err != nil {
			t.Fatalf("AppendPatch: %v", err)
		}
		if string(patched[:6]) != "prefix" {
			t.Fatalf("AppendPatch changed what dst held: %q", patched[:6])
		}
		got, err := c.Decode(patched[6:])
		if err != nil {
			t.Fatalf("Decode of a patch: %v", err)
		}
		want := maps.Clone(m)
		maps.Copy(want, changes)
		if !equal(got, want) {
			t.Fatalf("patched %v with %v: decoded %v", m, changes, got)
		}
	})
}

// TestLazyTypicalSession: the typical session is read lazily (Scan accepts
// it), and a session holding a nested map is not.
func TestLazyTypicalSession(t *testing.T) {
	c := newMsgPack()
	data := mustEncode(t, c, typicalSession())
	if entries, ok := c.Scan(data); !ok || len(entries) != len(typicalSession()) {
		t.Errorf("Scan(typical session) = %d entries, %v; want %d, true", len(entries), ok, len(typicalSession()))
	}
	nested := mustEncode(t, c, map[string]any{"m": map[string]any{"a": 1}})
	if _, ok := c.Scan(nested); ok {
		t.Error("Scan accepted a nested map, which it does not check")
	}
}
