package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

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
	n, ok, err := d.strLen(c)
	if !ok || err != nil {
		return "", ok, err
	}
	start := len(d.s) - len(d.b)
	p, err := d.take(n)
	if err != nil || d.s == "" {
		return string(p), true, err
	}
	return d.s[start : start+n], true, nil
}

// binBody reads the bin whose first byte c (0xc4, 0xc5 or 0xc6) was just
// read, as a copy.
// strLen reads the length of the string whose first byte c was just read;
// isStr is false when c does not start a string.
func (d *decoder) strLen(c byte) (n int, isStr bool, err error) {
	switch {
	case c&0xe0 == 0xa0:
		return int(c & 0x1f), true, nil
	case c == 0xd9:
		n, err = d.length(1)
	case c == 0xda:
		n, err = d.length(2)
	case c == 0xdb:
		n, err = d.length(4)
	default:
		return 0, false, nil
	}
	return n, true, err
}

func (d *decoder) binBody(c byte) ([]byte, error) {
	n, err := d.length(1 << (c - 0xc4))
	if err != nil {
		return nil, err
	}
	p, err := d.take(n)
	return append([]byte{}, p...), err
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
		return d.binBody(c)
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
	case extStrings, extInts, extInt64s, extFloat64s, extBools, extByteSlices, extStringMap, extIntMap:
		return d.typed(typ, p)
	}
	return nil, decodeErr("unknown extension type %d", int8(typ))
}

// typed decodes the payload p, just taken from d, of a slice or map of one
// element type: exactly one array or map, each element of its one kind.
func (d *decoder) typed(typ byte, p []byte) (any, error) {
	sub := decoder{b: p}
	if d.s != "" { // p's strings share d's copy of the data
		end := len(d.s) - len(d.b)
		sub.s = d.s[end-len(p) : end]
	}
	v, err := sub.typedBody(typ)
	if err != nil {
		return nil, err
	}
	if len(sub.b) != 0 {
		return nil, decodeErr("%s: %d bytes after the elements", typeNames[typ], len(sub.b))
	}
	return v, nil
}

// typeNames names the Go type of each extension type holding a slice or map.
var typeNames = [...]string{
	extStrings: "[]string", extInts: "[]int", extInt64s: "[]int64", extFloat64s: "[]float64",
	extBools: "[]bool", extByteSlices: "[][]byte", extStringMap: "map[string]string", extIntMap: "map[string]int",
}

func (d *decoder) typedBody(typ byte) (any, error) {
	switch typ {
	case extStringMap:
		return d.stringMap()
	case extIntMap:
		return d.intMap()
	}
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	switch typ {
	case extStrings:
		return elements(d, n, typ, (*decoder).str)
	case extInts:
		return elements(d, n, typ, (*decoder).intElem)
	case extInt64s:
		return elements(d, n, typ, (*decoder).int64)
	case extFloat64s:
		return elements(d, n, typ, (*decoder).float64)
	case extBools:
		return elements(d, n, typ, (*decoder).bool)
	}
	return elements(d, n, typ, (*decoder).bin)
}

// elements reads the n elements of a slice, each with read. The caller
// checked n against what is left, each element taking at least one byte.
func elements[T any](d *decoder, n int, typ byte, read func(*decoder) (T, error)) ([]T, error) {
	s := make([]T, n)
	for i := range s {
		v, err := read(d)
		if err != nil {
			return nil, fmt.Errorf("%w (%s element %d)", err, typeNames[typ], i)
		}
		s[i] = v
	}
	return s, nil
}

func (d *decoder) stringMap() (map[string]string, error) {
	n, err := d.mapLen()
	if err != nil {
		return nil, err
	}
	if n > len(d.b)/2 { // each entry takes at least two bytes
		return nil, errTruncated
	}
	m := make(map[string]string, n)
	for range n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.str(); err != nil {
			return nil, fmt.Errorf("%w (map[string]string key %q)", err, k)
		}
	}
	return m, nil
}

func (d *decoder) intMap() (map[string]int, error) {
	n, err := d.mapLen()
	if err != nil {
		return nil, err
	}
	if n > len(d.b)/2 {
		return nil, errTruncated
	}
	m := make(map[string]int, n)
	for range n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.intElem(); err != nil {
			return nil, fmt.Errorf("%w (map[string]int key %q)", err, k)
		}
	}
	return m, nil
}

// arrayLen reads an array header whose length fits what is left, each
// element taking at least one byte.
func (d *decoder) arrayLen() (int, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x90:
		n := int(c & 0x0f)
		if n > len(d.b) {
			return 0, errTruncated
		}
		return n, nil
	case c == 0xdc:
		return d.length(2)
	case c == 0xdd:
		return d.length(4)
	}
	return 0, decodeErr("want an array, found code %#x", c)
}

// The element readers below each read one value of one kind and fail on
// any other, so that a slice of one element type stays of that type.

func (d *decoder) str() (string, error) {
	c, err := d.byte()
	if err != nil {
		return "", err
	}
	s, ok, err := d.strBody(c)
	if !ok {
		return "", decodeErr("want a string, found code %#x", c)
	}
	return s, err
}

func (d *decoder) bin() ([]byte, error) {
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	if c < 0xc4 || c > 0xc6 {
		return nil, decodeErr("want a bin, found code %#x", c)
	}
	return d.binBody(c)
}

func (d *decoder) bool() (bool, error) {
	c, err := d.byte()
	switch {
	case err != nil:
		return false, err
	case c == 0xc2 || c == 0xc3:
		return c == 0xc3, nil
	}
	return false, decodeErr("want a bool, found code %#x", c)
}

func (d *decoder) float64() (float64, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	if c != 0xcb {
		return 0, decodeErr("want a float 64, found code %#x", c)
	}
	u, err := d.uint(8)
	return math.Float64frombits(u), err
}

// int64 reads a MessagePack integer of any format that fits an int64.
func (d *decoder) int64() (int64, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return int64(int8(c)), nil
	case c >= 0xcc && c <= 0xcf: // uint 8, 16, 32, 64
		u, err := d.uint(1 << (c - 0xcc))
		if err == nil && u > math.MaxInt64 {
			err = decodeErr("integer %d overflows an int64", u)
		}
		return int64(u), err
	case c >= 0xd0 && c <= 0xd3: // int 8, 16, 32, 64
		size := 1 << (c - 0xd0)
		u, err := d.uint(size)
		shift := 64 - 8*size // sign-extend
		return int64(u<<shift) >> shift, err
	}
	return 0, decodeErr("want an integer, found code %#x", c)
}

// intElem reads a MessagePack integer that fits this platform's int.
func (d *decoder) intElem() (int, error) {
	n, err := d.int64()
	if err == nil && (n < math.MinInt || n > math.MaxInt) {
		err = decodeErr("integer %d overflows this platform's int", n)
	}
	return int(n), err
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
		name := p[timeHeader+4:]
		if kind == zoneNamed {
			if loc := d.reg.location(name); loc != nil {
				if t = t.In(loc); sameOffset(t, offset) {
					return t, nil
				}
			}
			// The zone is not in this machine's database, or its rules
			// differ: keep the instant, the name and the offset.
		}
		return t.In(time.FixedZone(string(name), offset)), nil
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
// there is one. It returns nil when the zone cannot be loaded; that is
// cached too, since a failed load searches every zone directory (about
// 80 µs).
func (r *registry) location(name []byte) *time.Location {
	if r == nil {
		loc, _ := time.LoadLocation(string(name))
		return loc
	}
	r.mu.RLock()
	loc, known := r.zones[string(name)] // no allocation: the compiler knows this idiom
	r.mu.RUnlock()
	if known {
		return loc
	}
	loc, err := time.LoadLocation(string(name))
	if err != nil {
		loc = nil
	}
	r.mu.Lock()
	if len(r.zones) < maxZones {
		r.zones[string(name)] = loc
	}
	r.mu.Unlock()
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
