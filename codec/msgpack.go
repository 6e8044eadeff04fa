package codec

import (
	"fmt"
	"maps"
	"reflect"
	"sync"
	"time"
	"unsafe"
)

// The MsgPack wire format is standard MessagePack, so any MessagePack
// library can read it. Values whose MessagePack form already says their Go
// type use it: nil, bool, string (str), []byte (bin), float32 and float64,
// map[string]any (map), []any (array) and int (the shortest int format; every
// plain MessagePack integer decodes as an int, or as uint64 or int64 when it
// does not fit). Go types MessagePack cannot tell apart travel as extension
// values of the application-defined types below, so they come back exactly.
//
// The slices and maps of one element type (extStrings to extIntMap) are
// extension values whose payload is one plain MessagePack array or map of
// the elements, written as their plain forms: str, the shortest int, float
// 64, bool, bin. Another language's library reads the payload by decoding it
// as MessagePack. A plain array or map decodes as []any or map[string]any:
// only the extension type makes it a []string or a map[string]int.
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

	extStrings    = 12 // []string: array of str
	extInts       = 13 // []int: array of int
	extInt64s     = 14 // []int64: array of int
	extFloat64s   = 15 // []float64: array of float 64
	extBools      = 16 // []bool: array of bool
	extByteSlices = 17 // [][]byte: array of bin
	extStringMap  = 18 // map[string]string: map of str to str
	extIntMap     = 19 // map[string]int: map of str to int

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
// after construction.
type registry struct {
	names map[reflect.Type]string
	types map[string]reflect.Type
	mu    sync.RWMutex
	zones map[string]*time.Location // by name; nil for a name that did not load
}

// maxZones bounds the zone cache. The time zone database has about 600
// names; the rest of the room is for names that fail to load, which data
// written elsewhere may hold.
const maxZones = 1024

// NewMsgPack returns a MsgPack codec that also round-trips values of the
// dynamic types of the given examples, each as its own type:
//
//	c := codec.NewMsgPack(User{}, &Cart{}, map[string]bool(nil))
//
// registers User, *Cart and map[string]bool. An example of a named type
// also registers its pointer type, and a pointer example the type it points
// to (User{} covers *User, &Cart{} covers Cart), each still decoded as the
// type that was stored. A registered value is encoded
// with msgpack/v5's rules for Go values (struct fields by name, `msgpack`
// tags honoured, unexported fields skipped), under the type's name: its
// package path and name, "*" first for a pointer, or its Go spelling for an
// unnamed type ("map[string]bool"). Data holding a type that was since
// renamed, moved or unregistered fails to decode with ErrDecode. Inside a
// registered value the exactness guarantees are msgpack/v5's: fields of
// concrete types come back exactly; a time.Time field keeps its instant but
// not its location, and an interface field follows msgpack/v5's defaults (an
// int may come back as an int8). A cycle of pointers inside a registered
// value is msgpack/v5's to handle, and it does not: keep registered values
// acyclic.
//
// Unlike gob.Register, registration belongs to this codec alone; nothing
// global changes. NewMsgPack panics, as gob.Register does, when an example is
// nil, is of a type the codec handles itself (such as int, []string or
// map[string]any), or when two examples share a type or a name: these are
// programming errors found at start-up.
func NewMsgPack(types ...any) MsgPack {
	r := &registry{
		names: make(map[reflect.Type]string, len(types)),
		types: make(map[string]reflect.Type, len(types)),
		zones: make(map[string]*time.Location),
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
	// An example covers its pointer type (Cart{} covers *Cart) and a
	// pointer example its element type, unless that type was given too:
	// a session that stores a *Cart where Cart{} was registered is the
	// usual slip, and nothing is gained by failing it.
	for t := range maps.Clone(r.names) {
		var other reflect.Type
		switch {
		case t.Kind() == reflect.Pointer && t.Elem().Name() != "":
			other = t.Elem()
		case t.Kind() != reflect.Pointer && t.Name() != "":
			other = reflect.PointerTo(t)
		default:
			continue // unnamed types (map[string]bool) stay as registered
		}
		name := typeName(other)
		if _, dup := r.names[other]; dup {
			continue
		}
		if _, dup := r.types[name]; dup {
			continue
		}
		r.names[other] = name
		r.types[name] = other
	}
	return MsgPack{reg: r}
}

// isBuiltin reports whether v's type is one MsgPack encodes by itself.
func isBuiltin(v any) bool {
	switch v.(type) {
	case bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, []byte, time.Time, map[string]any, []any,
		[]string, []int, []int64, []float64, []bool, [][]byte, map[string]string, map[string]int:
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

// AppendEncode appends the encoding of values to dst, as Encode would
// return it, and returns the extended buffer (see [Appender]).
func (c MsgPack) AppendEncode(dst []byte, values map[string]any) ([]byte, error) {
	e := encoder{buf: dst, reg: c.reg}
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
	return d.decode()
}

// DecodeShared is Decode for data that is never modified afterwards, by
// anyone: the strings it returns (keys and values) share data's memory
// rather than a copy of it, sparing an allocation and a copy per decode.
// Byte slices are still copies. The session Manager uses it on the records
// it loads, which nothing modifies (see [SharedDecoder]).
func (c MsgPack) DecodeShared(data []byte) (map[string]any, error) {
	d := decoder{b: data, reg: c.reg}
	if len(data) <= maxSharedStrings && len(data) > 0 {
		d.s = unsafe.String(unsafe.SliceData(data), len(data))
	}
	return d.decode()
}

// decode decodes d's whole input, one map.
func (d *decoder) decode() (map[string]any, error) {
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
	return &encodeError{msg: "msgpack: " + fmt.Sprintf(format, args...)}
}

func decodeErr(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack: %s", ErrDecode, fmt.Sprintf(format, args...))
}
