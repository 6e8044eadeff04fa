package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// encoder appends the MessagePack encoding of values to buf.
type encoder struct {
	buf   []byte
	reg   *registry
	depth int
}

func (e *encoder) value(v any) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, 0xc0)
	case bool:
		if v {
			e.buf = append(e.buf, 0xc3)
		} else {
			e.buf = append(e.buf, 0xc2)
		}
	case string:
		return e.str(v)
	case int:
		e.int(int64(v))
	case int8:
		e.buf = append(e.buf, 0xd4, extInt8, byte(v))
	case int16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xd5, extInt16), uint16(v))
	case int32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xd6, extInt32), uint32(v))
	case int64:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xd7, extInt64), uint64(v))
	case uint:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xd7, extUint), uint64(v))
	case uint8:
		e.buf = append(e.buf, 0xd4, extUint8, v)
	case uint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xd5, extUint16), v)
	case uint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xd6, extUint32), v)
	case uint64:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xd7, extUint64), v)
	case float32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xca), math.Float32bits(v))
	case float64:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xcb), math.Float64bits(v))
	case []byte:
		return e.bin(v)
	case time.Time:
		e.time(v)
	case map[string]any:
		return e.mapAny(v)
	case []any:
		return e.sliceAny(v)
	case []string, []int, []int64, []float64, []bool, [][]byte, map[string]string, map[string]int:
		return e.typed(v)
	default:
		return e.registered(v)
	}
	return nil
}

// int writes n in the shortest MessagePack integer format.
func (e *encoder) int(n int64) {
	switch {
	case n >= 0 && n <= math.MaxInt8: // positive fixint
		e.buf = append(e.buf, byte(n))
	case n >= -32 && n < 0: // negative fixint
		e.buf = append(e.buf, byte(n))
	case n >= 0 && n <= math.MaxUint8:
		e.buf = append(e.buf, 0xcc, byte(n))
	case n >= 0 && n <= math.MaxUint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xcd), uint16(n))
	case n >= 0 && n <= math.MaxUint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xce), uint32(n))
	case n >= 0:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xcf), uint64(n))
	case n >= math.MinInt8:
		e.buf = append(e.buf, 0xd0, byte(n))
	case n >= math.MinInt16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xd1), uint16(n))
	case n >= math.MinInt32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xd2), uint32(n))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xd3), uint64(n))
	}
}

// header writes a length in the 8-, 16- or 32-bit form given by the codes.
func (e *encoder) header(n int, c8, c16, c32 byte) error {
	var err error
	e.buf, err = appendHeader(e.buf, n, c8, c16, c32)
	return err
}

func appendHeader(b []byte, n int, c8, c16, c32 byte) ([]byte, error) {
	switch {
	case n <= math.MaxUint8:
		return append(b, c8, byte(n)), nil
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n)), nil
	case uint64(n) <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, c32), uint32(n)), nil
	}
	return b, encodeErr("length %d over MessagePack's 4 GiB limit", n)
}

func (e *encoder) str(s string) error {
	if len(s) < 32 {
		e.buf = append(e.buf, 0xa0|byte(len(s)))
	} else if err := e.header(len(s), 0xd9, 0xda, 0xdb); err != nil {
		return err
	}
	e.buf = append(e.buf, s...)
	return nil
}

func (e *encoder) bin(b []byte) error {
	if err := e.header(len(b), 0xc4, 0xc5, 0xc6); err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

// extHeader writes the header of an extension value of n bytes.
func (e *encoder) extHeader(typ byte, n int) error {
	var err error
	e.buf, err = appendExtHeader(e.buf, typ, n)
	return err
}

func appendExtHeader(b []byte, typ byte, n int) ([]byte, error) {
	switch n {
	case 1, 2, 4, 8, 16:
		return append(b, 0xd4+byte(bitsLen(n)), typ), nil
	}
	b, err := appendHeader(b, n, 0xc7, 0xc8, 0xc9)
	return append(b, typ), err
}

// bitsLen returns log2(n) for the fixext sizes 1, 2, 4, 8 and 16.
func bitsLen(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}

func (e *encoder) time(t time.Time) {
	loc := t.Location()
	kind, name := byte(zoneNamed), loc.String()
	abbr, offset := t.Zone()
	switch {
	case loc == time.UTC:
		kind = zoneUTC
	case loc == time.Local:
		kind = zoneLocal
	case isFixed(t, name, abbr, offset):
		kind = zoneFixed
	}
	n := timeHeader
	if kind >= zoneFixed {
		n += 4 + len(name)
	}
	_ = e.extHeader(extTime, n) // cannot fail: a zone name is short
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(t.Unix()))
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(t.Nanosecond()))
	e.buf = append(e.buf, kind)
	if kind >= zoneFixed {
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(int32(offset)))
		e.buf = append(e.buf, name...)
	}
}

// isFixed tells a time.FixedZone from a zone loaded from the time zone
// database, which the time package does not expose. A fixed zone is its own
// abbreviation at every instant; a loaded zone is named after a place
// (Europe/Paris is CET or CEST). The few loaded zones named like their
// abbreviation (EST, CET) are fixed unless their offset changes over the
// year, so checking half a year later keeps CET, which has summer time, a
// named zone.
func isFixed(t time.Time, name, abbr string, offset int) bool {
	if abbr != name {
		return false
	}
	abbr2, offset2 := t.AddDate(0, 6, 0).Zone()
	return abbr2 == abbr && offset2 == offset
}

func (e *encoder) mapAny(m map[string]any) error {
	if e.depth++; e.depth > maxDepth {
		return encodeErr("maps and slices nested deeper than %d levels (a cycle?)", maxDepth)
	}
	if err := e.mapLen(len(m)); err != nil {
		return err
	}
	for k, v := range m {
		if err := e.str(k); err != nil {
			return err
		}
		if err := e.value(v); err != nil {
			return fmt.Errorf("%w (key %q)", err, k)
		}
	}
	e.depth--
	return nil
}

func (e *encoder) sliceAny(s []any) error {
	if e.depth++; e.depth > maxDepth {
		return encodeErr("maps and slices nested deeper than %d levels (a cycle?)", maxDepth)
	}
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		if err := e.value(v); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

func (e *encoder) mapLen(n int) error {
	if n < 16 {
		e.buf = append(e.buf, 0x80|byte(n))
		return nil
	}
	return e.header16(n, 0xde, 0xdf)
}

func (e *encoder) arrayLen(n int) error {
	if n < 16 {
		e.buf = append(e.buf, 0x90|byte(n))
		return nil
	}
	return e.header16(n, 0xdc, 0xdd)
}

// header16 writes a map or array length, which has no 8-bit form.
func (e *encoder) header16(n int, c16, c32 byte) error {
	switch {
	case n <= math.MaxUint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, c16), uint16(n))
	case uint64(n) <= math.MaxUint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, c32), uint32(n))
	default:
		return encodeErr("length %d over MessagePack's limit", n)
	}
	return nil
}

// typed writes a slice or map of one of the built-in element types as an
// extension value whose payload is the plain MessagePack array or map: the
// extension type says the Go type, and a reader in another language that
// does not know it can still decode the payload as MessagePack.
func (e *encoder) typed(v any) error {
	start := len(e.buf)
	var typ byte
	var err error
	switch v := v.(type) {
	case []string:
		typ, err = extStrings, e.strings(v)
	case []int:
		typ, err = extInts, e.ints(v)
	case []int64:
		typ, err = extInt64s, e.int64s(v)
	case []float64:
		typ, err = extFloat64s, e.float64s(v)
	case []bool:
		typ, err = extBools, e.bools(v)
	case [][]byte:
		typ, err = extByteSlices, e.byteSlices(v)
	case map[string]string:
		typ, err = extStringMap, e.stringMap(v)
	case map[string]int:
		typ, err = extIntMap, e.intMap(v)
	}
	if err != nil {
		return err
	}
	return e.wrapExt(typ, start)
}

// wrapExt makes the bytes written since start the payload of an extension
// value of type typ, moving them to make room for its header, whose length
// is only known once the payload is written. The move costs less than
// sizing every element twice.
func (e *encoder) wrapExt(typ byte, start int) error {
	var room [6]byte
	h, err := appendExtHeader(room[:0], typ, len(e.buf)-start)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, h...)
	copy(e.buf[start+len(h):], e.buf[start:])
	copy(e.buf[start:], h)
	return nil
}

func (e *encoder) strings(s []string) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		if err := e.str(v); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) ints(s []int) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		e.int(int64(v))
	}
	return nil
}

func (e *encoder) int64s(s []int64) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		e.int(v)
	}
	return nil
}

func (e *encoder) float64s(s []float64) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xcb), math.Float64bits(v))
	}
	return nil
}

func (e *encoder) bools(s []bool) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		c := byte(0xc2)
		if v {
			c = 0xc3
		}
		e.buf = append(e.buf, c)
	}
	return nil
}

func (e *encoder) byteSlices(s [][]byte) error {
	if err := e.arrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		if err := e.bin(v); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) stringMap(m map[string]string) error {
	if err := e.mapLen(len(m)); err != nil {
		return err
	}
	for k, v := range m {
		if err := e.str(k); err != nil {
			return err
		}
		if err := e.str(v); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) intMap(m map[string]int) error {
	if err := e.mapLen(len(m)); err != nil {
		return err
	}
	for k, v := range m {
		if err := e.str(k); err != nil {
			return err
		}
		e.int(int64(v))
	}
	return nil
}

func (e *encoder) registered(v any) error {
	var name string
	if e.reg != nil {
		name = e.reg.names[reflect.TypeOf(v)]
	}
	if name == "" {
		t := reflect.TypeOf(v)
		switch t.Kind() {
		case reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return encodeErr("a %T cannot be stored: channels, functions and unsafe pointers are not data", v)
		}
		return encodeErr("type %T is not registered: register it with codec.NewMsgPack(%s)", v, example(t))
	}
	body, err := msgpack.Marshal(v)
	if err != nil {
		// msgpack/v5's messages start with "msgpack: " as this one does.
		return encodeErr("%T: %s", v, strings.TrimPrefix(err.Error(), "msgpack: "))
	}
	var payload encoder
	_ = payload.str(name) // cannot fail: a type name is short
	payload.buf = append(payload.buf, body...)
	if err := e.extHeader(extType, len(payload.buf)); err != nil {
		return err
	}
	e.buf = append(e.buf, payload.buf...)
	return nil
}

// example returns Go source for an example of t to register, as an error
// message can suggest it.
func example(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Struct && t.Name() != "":
		return t.String() + "{}"
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		return "&" + t.Elem().String() + "{}"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer:
		return t.String() + "(nil)"
	case t.Kind() == reflect.String:
		return t.String() + `("")`
	case t.Kind() == reflect.Bool:
		return t.String() + "(false)"
	default:
		return t.String() + "(0)"
	}
}
