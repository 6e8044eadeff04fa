package codec_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sessionstore/sessionstore/codec"
)

func TestNewMsgPackPanics(t *testing.T) {
	cases := map[string][]any{
		"nil example":             {nil},
		"built-in int":            {0},
		"built-in time":           {time.Time{}},
		"built-in map":            {map[string]any{}},
		"same type twice":         {user{}, user{Name: "other"}},
		"same type, other value":  {[]user{}, []user(nil)},
		"built-in []string":       {[]string(nil)},
		"built-in [][]byte":       {[][]byte{}},
		"built-in map[string]int": {map[string]int{}},
		"two types, one name":     {recV1, recV2},
		"built-in slice alias":    {[]any{}},
	}
	for name, types := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("NewMsgPack did not panic")
				}
				if msg, _ := r.(string); !strings.HasPrefix(msg, "codec: NewMsgPack: ") {
					t.Fatalf("panic %v, want a message naming NewMsgPack", r)
				}
			}()
			codec.NewMsgPack(types...)
		})
	}
}

// TestRegistrationIsPerCodec: a type registered with one codec is unknown
// to another, in both directions: nothing global is registered.
func TestRegistrationIsPerCodec(t *testing.T) {
	registered := newMsgPack()
	data := mustEncode(t, registered, map[string]any{"u": user{Name: "Ada"}})
	for name, c := range map[string]codec.MsgPack{
		"zero value":      {},
		"other registrar": codec.NewMsgPack(cart{}),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Encode(map[string]any{"u": user{Name: "Ada"}}); !errors.Is(err, codec.ErrEncode) {
				t.Errorf("Encode of an unregistered type: %v, want ErrEncode", err)
			}
			_, err := c.Decode(data)
			if !errors.Is(err, codec.ErrDecode) {
				t.Fatalf("Decode of an unregistered type: %v, want ErrDecode", err)
			}
			if !strings.Contains(err.Error(), "codec_test.user") {
				t.Errorf("error %q does not name the type", err)
			}
		})
	}
}

// Three versions of one type: declared in different functions, they share
// the name the codec writes (package path and "rec"), as a struct edited
// between two deployments does.
var (
	recV1 = func() any { type rec struct{ Name, Gone string }; return rec{Name: "Ada", Gone: "x"} }()
	recV2 = func() any { type rec struct{ Name string }; return rec{} }()
	recV3 = func() any { type rec struct{ Name int }; return rec{} }()
)

// TestRegisteredTypeChanged: data written for an older version of a
// registered struct decodes into the new version with the fields that still
// exist; data that no longer fits the type fails with ErrDecode.
func TestRegisteredTypeChanged(t *testing.T) {
	data := mustEncode(t, codec.NewMsgPack(recV1), map[string]any{"u": recV1})
	got, err := codec.NewMsgPack(recV2).Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	u := reflect.ValueOf(got["u"])
	if u.Type() != reflect.TypeOf(recV2) || u.Field(0).String() != "Ada" {
		t.Errorf("got %#v, want rec{Name: Ada} of the new type", got["u"])
	}
	if _, err := codec.NewMsgPack(recV3).Decode(data); !errors.Is(err, codec.ErrDecode) {
		t.Errorf("Decode into an incompatible type: %v, want ErrDecode", err)
	}
}

// TestZoneNotInDatabase: a time in a zone the decoding machine cannot load
// keeps its instant, zone name and offset, in a fixed zone.
func TestZoneNotInDatabase(t *testing.T) {
	tzdata, err := os.ReadFile("/usr/share/zoneinfo/Europe/Paris")
	if err != nil {
		t.Skip("no system time zone database:", err)
	}
	mars, err := time.LoadLocationFromTZData("Mars/Olympus_Mons", tzdata)
	if err != nil {
		t.Fatal(err)
	}
	in := time.Date(2024, 7, 1, 12, 0, 0, 0, mars)
	for _, c := range []codec.MsgPack{{}, codec.NewMsgPack()} {
		got, err := c.Decode(mustEncode(t, c, map[string]any{"t": in}))
		if err != nil {
			t.Fatal(err)
		}
		want := in.In(time.FixedZone("Mars/Olympus_Mons", 2*3600))
		if !equal(got["t"], want) {
			t.Errorf("got %s, want %s", describe(got["t"]), describe(want))
		}
	}
}

// TestForeignMessagePack: Decode reads what other MessagePack libraries
// write for a session: plain integers as int, the standard timestamp
// extension as a time in UTC.
func TestForeignMessagePack(t *testing.T) {
	data := []byte{
		0x83,
		0xa1, 'n', 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // int 64: -2
		0xa1, 'u', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // uint 64: max
		0xa1, 't', 0xd6, 0xff, 0x65, 0x92, 0x00, 0x80, // timestamp 32: 2024-01-01T00:00:00Z
	}
	got, err := codec.MsgPack{}.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"n": -2,
		"u": uint64(1<<64 - 1),
		"t": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if !equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestTypedPayloadIsMessagePack: a built-in slice or map of one element
// type is an extension value of its own type whose payload another
// MessagePack library (msgpack/v5 here) decodes into the same Go value.
func TestTypedPayloadIsMessagePack(t *testing.T) {
	values := map[int8]any{
		12: []string{"admin", "é"},
		13: []int{1, -70000, 1 << 40},
		14: []int64{-1, 300},
		15: []float64{0.5, -2},
		16: []bool{true, false},
		17: [][]byte{{1, 2}, {}},
		18: map[string]string{"env": "prod"},
		19: map[string]int{"views": 3},
	}
	for typ, v := range values {
		t.Run(reflect.TypeOf(v).String(), func(t *testing.T) {
			data := mustEncode(t, codec.MsgPack{}, map[string]any{"v": v})
			var raw map[string]msgpack.RawMessage
			if err := msgpack.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			gotTyp, payload := extension(t, raw["v"])
			if gotTyp != typ {
				t.Errorf("extension type %d, want %d", gotTyp, typ)
			}
			out := reflect.New(reflect.TypeOf(v))
			if err := msgpack.Unmarshal(payload, out.Interface()); err != nil {
				t.Fatalf("msgpack/v5 reading the payload % x: %v", payload, err)
			}
			if !reflect.DeepEqual(out.Elem().Interface(), v) {
				t.Errorf("msgpack/v5 read %#v, want %#v", out.Elem().Interface(), v)
			}
		})
	}
}

// extension splits a MessagePack extension value into its type and payload.
func extension(t *testing.T, b []byte) (int8, []byte) {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("% x is not an extension", b)
	}
	switch c := b[0]; {
	case c >= 0xd4 && c <= 0xd8: // fixext 1 to 16
		return int8(b[1]), b[2:]
	case c == 0xc7: // ext 8; the test values are short
		return int8(b[2]), b[3:]
	}
	t.Fatalf("% x is not a short extension", b)
	return 0, nil
}
