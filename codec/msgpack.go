package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The MsgPack wire format is standard MessagePack, so any MessagePack
// library can read it. Values whose MessagePack form already says their Go
// type use it: nil, bool, string (str), []byte (bin), float32 and float64,
// map[string]any (map), []any (array) and int (the shortest int format; every
// plain MessagePack integer decodes as an int, or as uint64 or int64 when it
// does not fit). Go types MessagePack cannot tell apart travel as extension
// values of the application-defined types below, so they come back exactly.
const (
	extInt8   = 1  // 1 byte, two's complement
	extInt16  = 2  // 2 bytes, big endian
	extInt32  = 3  // 4 bytes
	extInt64  = 4  // 8 bytes
	extUint   = 5  // 8 bytes
	extUint8  = 6  // 1 byte
	extUint16 = 7  // 2 bytes
	extUint32 = 8  // 4 bytes
	extUint64 = 9  // 8 bytes
	extTime   = 10 // see the time layout below
	extType   = 11 // a registered type: its name (str), then msgpack/v5's encoding of the value

	// extTimestamp is MessagePack's own timestamp type (-1), which Decode
	// accepts from other writers; Encode writes extTime, which keeps zones.
	extTimestamp = 0xff
)

// Layout of an extTime payload: Unix seconds (int64) and nanoseconds
// (uint32), big endian, then one byte saying where the location comes from.
// A fixed or named zone is followed by its offset east of UTC in seconds at
// that instant (int32) and the location's name (the rest of the payload).
const (
	timeHeader = 8 + 4 + 1
	zoneUTC    = 0 // time.UTC
	zoneLocal  = 1 // time.Local of the decoding process
	zoneFixed  = 2 // time.FixedZone(name, offset)
	zoneNamed  = 3 // time.LoadLocation(name); a fixed zone of that name and offset if it cannot be loaded
)

// maxDepth bounds the nesting of maps and slices, so that a cycle fails to
// encode instead of overflowing the stack, and so does hostile input to
// Decode. Everything Encode accepts, Decode accepts.
const maxDepth = 1000

// MsgPack is the default codec: MessagePack that keeps the exact Go type of
// every value (see the package documentation for the list) and the location
// of every time.Time.
//
// The zero value registers no types and loads a named time zone (such as
// Europe/Paris) from the time zone database at each decode of a time in it,
// which costs about 13 µs; [NewMsgPack] and [Default] return a codec that
// caches them.
type MsgPack struct {
	reg *registry
}

// registry is what NewMsgPack sets up: the registered types, both ways, and
// a cache of the time zones loaded while decoding. Only the cache changes
// after construction; it holds only zones that loaded, so it is bounded by
// the time zone database.
type registry struct {
	names map[reflect.Type]string
	types map[string]reflect.Type
	zones sync.Map // zone name → *time.Location
}

// NewMsgPack returns a MsgPack codec that also round-trips values of the
// dynamic types of the given examples, each as its own type:
//
//	c := codec.NewMsgPack(User{}, &Cart{}, []string(nil))
//
// registers User, *Cart and []string. A registered value is encoded with
// msgpack/v5's rules for Go values (struct fields by name, `msgpack` tags
// honoured, unexported fields skipped), under the type's name: its package
// path and name, "*" first for a pointer, or its Go spelling for an unnamed
// type ("[]string"). Data holding a type that was since renamed, moved or
// unregistered fails to decode with ErrDecode. Inside a registered value the
// exactness guarantees are msgpack/v5's: fields of concrete types come back
// exactly; a time.Time field keeps its instant but not its location, and an
// interface field follows msgpack/v5's defaults (an int may come back as an
// int8).
//
// Unlike gob.Register, registration belongs to this codec alone; nothing
// global changes. NewMsgPack panics, as gob.Register does, when an example is
// nil, is of a type the codec handles itself (such as int or map[string]any),
// or when two examples share a type or a name: these are programming errors
// found at start-up.
func NewMsgPack(types ...any) MsgPack {
	r := &registry{
		names: make(map[reflect.Type]string, len(types)),
		types: make(map[string]reflect.Type, len(types)),
	}
	for _, v := range types {
		if v == nil {
			panic("codec: NewMsgPack: nil example")
		}
		if isBuiltin(v) {
			panic(fmt.Sprintf("codec: NewMsgPack: %T is encoded without registration", v))
		}
		t := reflect.TypeOf(v)
		name := typeName(t)
		if _, dup := r.names[t]; dup {
			panic(fmt.Sprintf("codec: NewMsgPack: %v registered twice", t))
		}
		if _, dup := r.types[name]; dup {
			panic(fmt.Sprintf("codec: NewMsgPack: two types named %q", name))
		}
		r.names[t] = name
		r.types[name] = t
	}
	return MsgPack{reg: r}
}

// isBuiltin reports whether v's type is one MsgPack encodes by itself.
func isBuiltin(v any) bool {
	switch v.(type) {
	case bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, []byte, time.Time, map[string]any, []any:
		return true
	}
	return false
}

// typeName names t for the wire: stable across builds as long as the type
// keeps its name and package.
func typeName(t reflect.Type) string {
	star := ""
	if t.Kind() == reflect.Pointer && t.Name() == "" {
		star, t = "*", t.Elem()
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return star + t.String()
	}
	return star + t.PkgPath() + "." + t.Name()
}

// Encode encodes values as a MessagePack map. The order of the keys in the
// output is unspecified, as in a Go map.
func (c MsgPack) Encode(values map[string]any) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 256), reg: c.reg}
	if err := e.mapAny(values); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// Decode decodes data written by Encode, or any MessagePack map with string
// keys whose values are of the kinds Encode writes.
func (c MsgPack) Decode(data []byte) (map[string]any, error) {
	d := decoder{b: data, reg: c.reg}
	if len(data) <= maxSharedStrings {
		d.s = string(data)
	}
	n, err := d.mapLen()
	if err != nil {
		return nil, err
	}
	m, err := d.mapBody(n)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, decodeErr("%d bytes after the map", len(d.b))
	}
	return m, nil
}

func encodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack: %s", ErrEncode, fmt.Sprintf(format, args...))
}

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack: %s", ErrDecode, fmt.Sprintf(format, args...))
}

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

// decoder reads MessagePack from b, which shrinks as it is consumed. Every
// length is checked against what is left before anything is allocated, so
// a corrupted length fails instead of allocating gigabytes.
type decoder struct {
	b     []byte
	reg   *registry
	depth int

	// s, when set, is a copy of all the data b started as; the strings
	// decoded are slices of it, one allocation for all the keys and string
	// values of a session instead of one each.
	s string
}

// maxSharedStrings is the largest input whose strings share one copy of
// it. Above it each string is copied on its own, so that a short string
// kept after the session does not keep a large input alive.
const maxSharedStrings = 4096

var errTruncated = fmt.Errorf("%w: msgpack: truncated data", ErrDecode)

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, errTruncated
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p, nil
}

func (d *decoder) byte() (byte, error) {
	if len(d.b) == 0 {
		return 0, errTruncated
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c, nil
}

// uint reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (d *decoder) uint(size int) (uint64, error) {
	p, err := d.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// length reads a length of size bytes as an int that fits what is left.
func (d *decoder) length(size int) (int, error) {
	n, err := d.uint(size)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.b)) {
		return 0, errTruncated
	}
	return int(n), nil
}

func (d *decoder) mapLen() (int, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f), nil
	case c == 0xde:
		return d.length(2)
	case c == 0xdf:
		return d.length(4)
	}
	return 0, decodeErr("want a map, found code %#x", c)
}

func (d *decoder) mapBody(n int) (map[string]any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, decodeErr("nested deeper than %d levels", maxDepth)
	}
	if n > len(d.b)/2 { // each entry takes at least two bytes
		return nil, errTruncated
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(); err != nil {
			return nil, err
		}
	}
	d.depth--
	return m, nil
}

func (d *decoder) key() (string, error) {
	c, err := d.byte()
	if err != nil {
		return "", err
	}
	s, ok, err := d.strBody(c)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", decodeErr("map key is not a string (code %#x)", c)
	}
	return s, nil
}

// strBody reads the string whose first byte c was just read; ok is false
// when c does not start a string.
func (d *decoder) strBody(c byte) (s string, ok bool, err error) {
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xd9:
		n, err = d.length(1)
	case c == 0xda:
		n, err = d.length(2)
	case c == 0xdb:
		n, err = d.length(4)
	default:
		return "", false, nil
	}
	if err != nil {
		return "", true, err
	}
	start := len(d.s) - len(d.b)
	p, err := d.take(n)
	if err != nil || d.s == "" {
		return string(p), true, err
	}
	return d.s[start : start+n], true, nil
}

func (d *decoder) sliceBody(n int) ([]any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, decodeErr("nested deeper than %d levels", maxDepth)
	}
	if n > len(d.b) { // each element takes at least one byte
		return nil, errTruncated
	}
	s := make([]any, n)
	for i := range s {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		s[i] = v
	}
	d.depth--
	return s, nil
}

func (d *decoder) value() (any, error) {
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int(c), nil
	case c >= 0xe0:
		return int(int8(c)), nil
	case c&0xf0 == 0x80:
		return d.mapBody(int(c & 0x0f))
	case c&0xf0 == 0x90:
		return d.sliceBody(int(c & 0x0f))
	}
	if s, ok, err := d.strBody(c); ok {
		return s, err
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6: // bin 8, 16, 32
		n, err := d.length(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		p, err := d.take(n)
		return append([]byte{}, p...), err
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32
		n, err := d.length(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(n)
	case 0xca:
		u, err := d.uint(4)
		return math.Float32frombits(uint32(u)), err
	case 0xcb:
		u, err := d.uint(8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8, 16, 32, 64
		u, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt {
			return u, nil
		}
		return int(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8, 16, 32, 64
		size := 1 << (c - 0xd0)
		u, err := d.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size // sign-extend
		n := int64(u<<shift) >> shift
		if n < math.MinInt {
			return n, nil
		}
		return int(n), nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return d.ext(1 << (c - 0xd4))
	case 0xdc:
		n, err := d.length(2)
		if err != nil {
			return nil, err
		}
		return d.sliceBody(n)
	case 0xdd:
		n, err := d.length(4)
		if err != nil {
			return nil, err
		}
		return d.sliceBody(n)
	case 0xde, 0xdf:
		n, err := d.length(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapBody(n)
	}
	return nil, decodeErr("invalid code %#x", c)
}

// extSizes is the payload size of each fixed-size extension type.
var extSizes = [...]int{
	extInt8: 1, extInt16: 2, extInt32: 4, extInt64: 8, extUint: 8,
	extUint8: 1, extUint16: 2, extUint32: 4, extUint64: 8,
}

// ext reads an extension value of n payload bytes, its type byte first.
func (d *decoder) ext(n int) (any, error) {
	typ, err := d.byte()
	if err != nil {
		return nil, err
	}
	p, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if typ >= extInt8 && typ <= extUint64 && n != extSizes[typ] {
		return nil, decodeErr("extension %d of %d bytes, want %d", typ, n, extSizes[typ])
	}
	switch typ {
	case extInt8:
		return int8(p[0]), nil
	case extInt16:
		return int16(binary.BigEndian.Uint16(p)), nil
	case extInt32:
		return int32(binary.BigEndian.Uint32(p)), nil
	case extInt64:
		return int64(binary.BigEndian.Uint64(p)), nil
	case extUint:
		u := binary.BigEndian.Uint64(p)
		if u > math.MaxUint {
			return nil, decodeErr("uint %d overflows this platform's uint", u)
		}
		return uint(u), nil
	case extUint8:
		return p[0], nil
	case extUint16:
		return binary.BigEndian.Uint16(p), nil
	case extUint32:
		return binary.BigEndian.Uint32(p), nil
	case extUint64:
		return binary.BigEndian.Uint64(p), nil
	case extTime:
		return d.time(p)
	case extType:
		return d.registered(p)
	case extTimestamp:
		return timestamp(p)
	}
	return nil, decodeErr("unknown extension type %d", int8(typ))
}

func (d *decoder) time(p []byte) (time.Time, error) {
	if len(p) < timeHeader {
		return time.Time{}, decodeErr("time of %d bytes", len(p))
	}
	sec := int64(binary.BigEndian.Uint64(p))
	nsec := binary.BigEndian.Uint32(p[8:])
	kind := p[12]
	if nsec >= 1e9 {
		return time.Time{}, decodeErr("time with %d nanoseconds", nsec)
	}
	t := time.Unix(sec, int64(nsec))
	switch {
	case kind == zoneUTC && len(p) == timeHeader:
		return t.UTC(), nil
	case kind == zoneLocal && len(p) == timeHeader:
		return t, nil // time.Unix returns Local times
	case (kind == zoneFixed || kind == zoneNamed) && len(p) >= timeHeader+4:
		offset := int(int32(binary.BigEndian.Uint32(p[timeHeader:])))
		name := string(p[timeHeader+4:])
		if kind == zoneNamed {
			if loc := d.reg.location(name); loc != nil {
				if t = t.In(loc); sameOffset(t, offset) {
					return t, nil
				}
			}
			// The zone is not in this machine's database, or its rules
			// differ: keep the instant, the name and the offset.
		}
		return t.In(time.FixedZone(name, offset)), nil
	}
	return time.Time{}, decodeErr("time zone kind %d in %d bytes", kind, len(p))
}

// timestamp decodes MessagePack's standard timestamp extension, which other
// libraries write for their time values, as a time in UTC.
func timestamp(p []byte) (time.Time, error) {
	switch len(p) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(p)), 0).UTC(), nil
	case 8:
		u := binary.BigEndian.Uint64(p)
		if nsec := u >> 34; nsec < 1e9 {
			return time.Unix(int64(u&(1<<34-1)), int64(nsec)).UTC(), nil
		}
	case 12:
		if nsec := binary.BigEndian.Uint32(p); nsec < 1e9 {
			return time.Unix(int64(binary.BigEndian.Uint64(p[4:])), int64(nsec)).UTC(), nil
		}
	}
	return time.Time{}, decodeErr("invalid timestamp extension of %d bytes", len(p))
}

func sameOffset(t time.Time, offset int) bool {
	_, o := t.Zone()
	return o == offset
}

// location loads a zone of the time zone database, through r's cache when
// there is one. It returns nil when the zone cannot be loaded.
func (r *registry) location(name string) *time.Location {
	if r != nil {
		if loc, ok := r.zones.Load(name); ok {
			return loc.(*time.Location)
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	if r != nil {
		r.zones.Store(name, loc)
	}
	return loc
}

func (d *decoder) registered(p []byte) (v any, err error) {
	sub := decoder{b: p}
	c, err := sub.byte()
	if err != nil {
		return nil, err
	}
	name, ok, err := sub.strBody(c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, decodeErr("registered value without a type name")
	}
	var t reflect.Type
	if d.reg != nil {
		t = d.reg.types[name]
	}
	if t == nil {
		return nil, decodeErr("type %q is not registered with this codec", name)
	}
	ptr := reflect.New(t)
	// msgpack/v5 decodes by reflection into a type chosen by the data; it
	// is not this package's code, so a panic it raises on hostile input
	// still becomes an ErrDecode, as the Codec contract promises.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, decodeErr("%s: panic: %v", name, r)
		}
	}()
	if err := msgpack.Unmarshal(sub.b, ptr.Interface()); err != nil {
		return nil, decodeErr("%s: %v", name, err)
	}
	return ptr.Elem().Interface(), nil
}
