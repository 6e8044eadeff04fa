package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
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
		if err := e.header(len(v), 0xc4, 0xc5, 0xc6); err != nil {
			return err
		}
		e.buf = append(e.buf, v...)
	case time.Time:
		e.time(v)
	case map[string]any:
		return e.mapAny(v)
	case []any:
		return e.sliceAny(v)
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
	switch {
	case n <= math.MaxUint8:
		e.buf = append(e.buf, c8, byte(n))
	case n <= math.MaxUint16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, c16), uint16(n))
	case uint64(n) <= math.MaxUint32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, c32), uint32(n))
	default:
		return encodeErr("length %d over MessagePack's 4 GiB limit", n)
	}
	return nil
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

// extHeader writes the header of an extension value of n bytes.
func (e *encoder) extHeader(typ byte, n int) error {
	switch n {
	case 1, 2, 4, 8, 16:
		e.buf = append(e.buf, 0xd4+byte(bitsLen(n)), typ)
		return nil
	}
	if err := e.header(n, 0xc7, 0xc8, 0xc9); err != nil {
		return err
	}
	e.buf = append(e.buf, typ)
	return nil
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
	if len(m) < 16 {
		e.buf = append(e.buf, 0x80|byte(len(m)))
	} else if err := e.header16(len(m), 0xde, 0xdf); err != nil {
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
	if len(s) < 16 {
		e.buf = append(e.buf, 0x90|byte(len(s)))
	} else if err := e.header16(len(s), 0xdc, 0xdd); err != nil {
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

func (e *encoder) registered(v any) error {
	var name string
	if e.reg != nil {
		name = e.reg.names[reflect.TypeOf(v)]
	}
	if name == "" {
		return encodeErr("unsupported type %T (register it with codec.NewMsgPack)", v)
	}
	body, err := msgpack.Marshal(v)
	if err != nil {
		return encodeErr("%T: %v", v, err)
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
