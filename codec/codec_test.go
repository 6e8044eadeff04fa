package codec_test

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris and America/New_York load even without a system database

	"github.com/sessionstore/sessionstore/codec"
)

// Types registered with the MsgPack codec under test.
type user struct {
	Name  string
	Age   int
	Roles []string
	Score float32
}

type cart struct {
	Items map[string]int
}

// newMsgPack is the MsgPack codec the tests use: the registered kinds of
// values on top of the built-in ones.
func newMsgPack() codec.MsgPack {
	return codec.NewMsgPack(user{}, &cart{}, []user(nil))
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// same marks a case whose value must come back exactly as stored.
var same = new(int)

// roundTripCase is one stored value and what each codec gives back for it.
// gob and json hold the decoded value that codec must return (same: the
// value itself; refused: the codec must refuse to encode it). msgpack is
// what MsgPack returns when it is not the value itself, which nil there
// means (a time.Time comes back without its monotonic clock reading).
type roundTripCase struct {
	name               string
	in                 any
	msgpack, gob, json any
}

// refused marks a value a codec must refuse with ErrEncode.
var refused = new(int)

func roundTripCases(t testing.TB) []roundTripCase {
	paris := mustZone(t, "Europe/Paris")
	newYork := mustZone(t, "America/New_York")
	cet := mustZone(t, "CET") // a tz database zone named like its abbreviation, with summer time
	est := time.FixedZone("EST", -5*3600)
	india := time.FixedZone("+0530", 5*3600+1800)
	noName := time.FixedZone("", 3600)
	base := time.Date(2024, time.January, 15, 10, 30, 45, 123456789, time.UTC)
	summer := time.Date(2024, time.July, 1, 8, 0, 0, 1, time.UTC)

	longStr := strings.Repeat("é", 200)       // str 16
	hugeStr := strings.Repeat("x", 70000)     // str 32
	longBytes := bytes.Repeat([]byte{7}, 300) // bin 16
	manyKeys := map[string]any{}
	manyElems := make([]any, 20)
	for i := range 20 {
		manyKeys[fmt.Sprint("k", i)] = i
		manyElems[i] = i
	}
	manyKeysJSON := map[string]any{}
	manyElemsJSON := make([]any, 20)
	for i := range 20 {
		manyKeysJSON[fmt.Sprint("k", i)] = int64(i)
		manyElemsJSON[i] = int64(i)
	}
	manyStrings := make([]string, 20) // array 16 inside the extension
	manyStringsJSON := make([]any, 20)
	manyInts := make([]int, 20)
	manyIntKeys := map[string]int{} // map 16 inside the extension
	for i := range 20 {
		manyStrings[i] = fmt.Sprint("role", i)
		manyStringsJSON[i] = manyStrings[i]
		manyInts[i] = i
		manyIntKeys[fmt.Sprint("k", i)] = i
	}

	timeCase := func(name string, tm time.Time) roundTripCase {
		return roundTripCase{name: name, in: tm, gob: gobTime(tm), json: tm.Format(time.RFC3339Nano)}
	}
	return []roundTripCase{
		{name: "nil", in: nil, gob: same, json: same},
		{name: "true", in: true, gob: same, json: same},
		{name: "false", in: false, gob: same, json: same},
		{name: "string", in: "héllo, world", gob: same, json: same},
		{name: "empty string", in: "", gob: same, json: same},
		{name: "string 400 bytes", in: longStr, gob: same, json: same},
		{name: "string 70000 bytes", in: hugeStr, gob: same, json: same},

		{name: "int 0", in: 0, gob: same, json: int64(0)},
		{name: "int 127", in: 127, gob: same, json: int64(127)},
		{name: "int 128", in: 128, gob: same, json: int64(128)},
		{name: "int -32", in: -32, gob: same, json: int64(-32)},
		{name: "int -33", in: -33, gob: same, json: int64(-33)},
		{name: "int 70000", in: 70000, gob: same, json: int64(70000)},
		{name: "int -70000", in: -70000, gob: same, json: int64(-70000)},
		{name: "int 1<<40", in: 1 << 40, gob: same, json: int64(1 << 40)},
		{name: "int max", in: math.MaxInt, gob: same, json: int64(math.MaxInt)},
		{name: "int min", in: math.MinInt, gob: same, json: int64(math.MinInt)},
		{name: "int8 min", in: int8(math.MinInt8), gob: same, json: int64(math.MinInt8)},
		{name: "int8 max", in: int8(math.MaxInt8), gob: same, json: int64(math.MaxInt8)},
		{name: "int16 min", in: int16(math.MinInt16), gob: same, json: int64(math.MinInt16)},
		{name: "int32 max", in: int32(math.MaxInt32), gob: same, json: int64(math.MaxInt32)},
		{name: "int64 small", in: int64(42), gob: same, json: int64(42)},
		{name: "int64 min", in: int64(math.MinInt64), gob: same, json: same},
		{name: "uint", in: uint(math.MaxUint), gob: same, json: uint64(math.MaxUint64)},
		{name: "uint8", in: uint8(255), gob: same, json: int64(255)},
		{name: "uint16", in: uint16(65535), gob: same, json: int64(65535)},
		{name: "uint32", in: uint32(math.MaxUint32), gob: same, json: int64(math.MaxUint32)},
		{name: "uint64 max", in: uint64(math.MaxUint64), gob: same, json: same},
		{name: "uint64 small", in: uint64(1), gob: same, json: int64(1)},

		{name: "float32", in: float32(1.5), gob: same, json: float64(1.5)},
		{name: "float32 max", in: float32(math.MaxFloat32), gob: same, json: 3.4028235e+38}, // written with float32 precision
		{name: "float64", in: math.Pi, gob: same, json: same},
		{name: "float64 integral", in: float64(2), gob: same, json: int64(2)},
		{name: "float64 negative zero", in: math.Copysign(0, -1), gob: same, json: int64(0)},
		{name: "float64 smallest", in: math.SmallestNonzeroFloat64, gob: same, json: same},
		{name: "float64 +Inf", in: math.Inf(1), gob: same, json: refused},
		{name: "float64 NaN", in: math.NaN(), gob: same, json: refused},

		{name: "bytes", in: []byte{0, 1, 2, 0xff}, gob: same, json: "AAEC/w=="},
		{name: "bytes empty", in: []byte{}, gob: []byte(nil), json: ""},
		{name: "bytes nil", in: []byte(nil), msgpack: []byte{}, gob: same, json: nil},
		{name: "bytes 300", in: longBytes, gob: same, json: base64.StdEncoding.EncodeToString(longBytes)},

		timeCase("time UTC", base),
		timeCase("time Local", base.In(time.Local)),
		timeCase("time fixed zone EST", base.In(est)),
		timeCase("time fixed zone +0530", base.In(india)),
		timeCase("time fixed zone without a name", base.In(noName)),
		timeCase("time Europe/Paris winter", base.In(paris)),
		timeCase("time Europe/Paris summer", summer.In(paris)),
		timeCase("time America/New_York", summer.In(newYork)),
		timeCase("time CET summer", summer.In(cet)),
		timeCase("time CET winter", base.In(cet)),
		timeCase("time with monotonic clock", time.Now()),
		timeCase("time zero", time.Time{}),
		timeCase("time year 1 in Paris", time.Date(1, 1, 1, 0, 0, 0, 0, paris)),
		timeCase("time year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)),
		timeCase("time before 1970", time.Date(1969, 7, 20, 20, 17, 40, 0, newYork)),

		{name: "map empty", in: map[string]any{}, gob: same, json: same},
		{name: "map nil", in: map[string]any(nil), msgpack: map[string]any{}, gob: map[string]any{}, json: nil},
		{name: "map nested", in: map[string]any{"a": map[string]any{"b": int8(1), "c": []any{"x", nil}}},
			gob: same, json: map[string]any{"a": map[string]any{"b": int64(1), "c": []any{"x", nil}}}},
		{name: "map 20 keys", in: manyKeys, gob: same, json: manyKeysJSON},
		{name: "slice empty", in: []any{}, gob: []any(nil), json: same},
		{name: "slice nil", in: []any(nil), msgpack: []any{}, gob: same, json: nil},
		{name: "slice mixed", in: []any{1, "two", 3.5, true, nil, []byte("b"), []any{int16(5)}, base},
			gob: same, json: []any{int64(1), "two", 3.5, true, nil, "Yg==", []any{int64(5)}, base.Format(time.RFC3339Nano)}},
		{name: "slice 20 elements", in: manyElems, gob: same, json: manyElemsJSON},

		{name: "registered struct", in: user{Name: "Ada", Age: 36, Roles: []string{"admin"}, Score: 9.5}, gob: same,
			json: map[string]any{"Name": "Ada", "Age": int64(36), "Roles": []any{"admin"}, "Score": 9.5}},
		{name: "registered pointer", in: &cart{Items: map[string]int{"apple": 3}}, gob: same,
			json: map[string]any{"Items": map[string]any{"apple": int64(3)}}},
		{name: "registered slice type", in: []user{{Name: "Ada", Age: 36, Roles: []string{"admin"}, Score: 9.5}}, gob: same,
			json: []any{map[string]any{"Name": "Ada", "Age": int64(36), "Roles": []any{"admin"}, "Score": 9.5}}},

		// Slices and maps of one element type, built in without registration.
		{name: "[]string", in: []string{"admin", "", "é"}, gob: same, json: []any{"admin", "", "é"}},
		{name: "[]string empty", in: []string{}, gob: []string(nil), json: []any{}},
		{name: "[]string nil", in: []string(nil), msgpack: []string{}, gob: same, json: nil},
		{name: "[]string 20 elements", in: manyStrings, gob: same, json: manyStringsJSON},
		{name: "[]string of 400 and 70000 bytes", in: []string{longStr, hugeStr}, gob: same, json: []any{longStr, hugeStr}},
		{name: "[]int", in: []int{0, 127, 128, -32, -33, 70000, math.MaxInt, math.MinInt}, gob: same,
			json: []any{int64(0), int64(127), int64(128), int64(-32), int64(-33), int64(70000), int64(math.MaxInt), int64(math.MinInt)}},
		{name: "[]int empty", in: []int{}, gob: []int(nil), json: []any{}},
		{name: "[]int nil", in: []int(nil), msgpack: []int{}, gob: same, json: nil},
		{name: "[]int 20 elements", in: manyInts, gob: same, json: manyElemsJSON},
		{name: "[]int64", in: []int64{42, math.MinInt64, math.MaxInt64, 1 << 40}, gob: same,
			json: []any{int64(42), int64(math.MinInt64), int64(math.MaxInt64), int64(1 << 40)}},
		{name: "[]int64 nil", in: []int64(nil), msgpack: []int64{}, gob: same, json: nil},
		{name: "[]float64", in: []float64{0.5, math.Pi, 2, math.SmallestNonzeroFloat64}, gob: same,
			json: []any{0.5, math.Pi, int64(2), math.SmallestNonzeroFloat64}},
		{name: "[]float64 NaN, -Inf, -0", in: []float64{math.NaN(), math.Inf(-1), math.Copysign(0, -1)}, gob: same, json: refused},
		{name: "[]float64 nil", in: []float64(nil), msgpack: []float64{}, gob: same, json: nil},
		{name: "[]bool", in: []bool{true, false, true}, gob: same, json: []any{true, false, true}},
		{name: "[]bool nil", in: []bool(nil), msgpack: []bool{}, gob: same, json: nil},
		{name: "[][]byte", in: [][]byte{{1, 2}, {}, nil, longBytes},
			msgpack: [][]byte{{1, 2}, {}, {}, longBytes}, gob: [][]byte{{1, 2}, nil, nil, longBytes},
			json: []any{"AQI=", "", nil, base64.StdEncoding.EncodeToString(longBytes)}},
		{name: "[][]byte nil", in: [][]byte(nil), msgpack: [][]byte{}, gob: same, json: nil},
		{name: "map[string]string", in: map[string]string{"theme": "dark", "": "empty key", "lang": ""}, gob: same,
			json: map[string]any{"theme": "dark", "": "empty key", "lang": ""}},
		{name: "map[string]string empty", in: map[string]string{}, gob: same, json: map[string]any{}},
		{name: "map[string]string nil", in: map[string]string(nil), msgpack: map[string]string{}, gob: map[string]string{}, json: nil},
		{name: "map[string]int", in: map[string]int{"views": 3, "min": math.MinInt, "max": math.MaxInt}, gob: same,
			json: map[string]any{"views": int64(3), "min": int64(math.MinInt), "max": int64(math.MaxInt)}},
		{name: "map[string]int 20 keys", in: manyIntKeys, gob: same, json: manyKeysJSON},
		{name: "map[string]int nil", in: map[string]int(nil), msgpack: map[string]int{}, gob: map[string]int{}, json: nil},
		{name: "typed values nested", in: map[string]any{"a": []any{[]string{"x"}, map[string]int{"n": 1}}, "b": []bool{}},
			gob:  map[string]any{"a": []any{[]string{"x"}, map[string]int{"n": 1}}, "b": []bool(nil)},
			json: map[string]any{"a": []any{[]any{"x"}, map[string]any{"n": int64(1)}}, "b": []any{}}},
	}
}

// gobTime is what gob makes of a time: time.Time.MarshalBinary keeps the
// offset, not the zone name.
func gobTime(tm time.Time) time.Time {
	tm = tm.Round(0)
	if tm.Location() == time.UTC {
		return tm
	}
	_, offset := tm.Zone()
	if _, local := tm.In(time.Local).Zone(); local == offset {
		return tm.In(time.Local)
	}
	return tm.In(time.FixedZone("", offset))
}

func TestRoundTrip(t *testing.T) {
	codecs := []struct {
		name  string
		codec codec.Codec
		want  func(roundTripCase) any
	}{
		{"MsgPack", newMsgPack(), func(c roundTripCase) any {
			if tm, ok := c.in.(time.Time); ok {
				return tm.Round(0)
			}
			if c.msgpack == nil {
				return same
			}
			return c.msgpack
		}},
		{"Gob", codec.Gob{}, func(c roundTripCase) any { return c.gob }},
		{"JSON", codec.JSON{}, func(c roundTripCase) any { return c.json }},
	}
	for _, cc := range codecs {
		for _, tc := range roundTripCases(t) {
			t.Run(cc.name+"/"+tc.name, func(t *testing.T) {
				want := cc.want(tc)
				if want == same {
					want = tc.in
				}
				registerGob(t, tc.in)
				data, err := cc.codec.Encode(map[string]any{"v": tc.in})
				if want == refused {
					if !errors.Is(err, codec.ErrEncode) {
						t.Fatalf("Encode(%v) = %v, want an error wrapping ErrEncode", tc.in, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := cc.codec.Decode(data)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(got) != 1 {
					t.Fatalf("Decode: %d keys, want 1: %v", len(got), got)
				}
				if v, ok := got["v"]; !ok || !equal(v, want) {
					t.Errorf("got %s\nwant %s", describe(v), describe(want))
				}
			})
		}
	}
}

// registerGob registers the test's own types with gob, as a program using
// the Gob codec must.
func registerGob(t testing.TB, v any) {
	t.Helper()
	switch v.(type) {
	case user, *cart, []user:
		gobRegisterOnce.Do(func() {
			gob.Register(user{})
			gob.Register(&cart{})
			gob.Register([]user{})
		})
	}
}

var gobRegisterOnce sync.Once

// equal reports whether got is want with the same dynamic types all the way
// down; times must be the same instant in a location of the same name and
// the same zone, with no monotonic clock reading; NaNs equal NaNs.
func equal(got, want any) bool {
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		return false
	}
	switch w := want.(type) {
	case time.Time:
		g := got.(time.Time)
		gAbbr, gOff := g.Zone()
		wAbbr, wOff := w.Zone()
		return g.Equal(w) && g == g.Round(0) && g.Location().String() == w.Location().String() &&
			gAbbr == wAbbr && gOff == wOff
	case float64:
		g := got.(float64)
		return math.Float64bits(g) == math.Float64bits(w) || (math.IsNaN(g) && math.IsNaN(w))
	case float32:
		g := got.(float32)
		return math.Float32bits(g) == math.Float32bits(w) || (g != g && w != w)
	case map[string]any:
		g := got.(map[string]any)
		if (g == nil) != (w == nil) || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !equal(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g := got.([]any)
		if (g == nil) != (w == nil) || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equal(g[i], w[i]) {
				return false
			}
		}
		return true
	case []float64: // for its NaNs and negative zeros
		g := got.([]float64)
		if (g == nil) != (w == nil) || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equal(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func describe(v any) string {
	if tm, ok := v.(time.Time); ok {
		abbr, off := tm.Zone()
		return fmt.Sprintf("time %v (location %q, zone %q %+d)", tm, tm.Location(), abbr, off)
	}
	s := fmt.Sprintf("%T %#v", v, v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
