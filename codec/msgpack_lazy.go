package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// LazyDecoder is implemented by codecs that can read one value of an
// encoded session without decoding the others. The session Manager uses it
// to spare a request that reads a few values the decoding of all of them;
// MsgPack implements it.
type LazyDecoder interface {
	SharedDecoder

	// Scan reports whether DecodeShared(data) succeeds and FindShared can
	// read each of its values on its own, and returns where the map's
	// entries lie in data. When it reports false (data is corrupt, or
	// holds values Scan does not check, such as nested collections or
	// registered types), the caller decodes data whole instead.
	Scan(data []byte) (entries []Entry, ok bool)

	// FindShared returns DecodeShared(data)[key] and whether key is there,
	// without decoding the other values. entries is what Scan returned for
	// data, and data must never be modified afterwards: strings share its
	// memory.
	FindShared(data []byte, entries []Entry, key string) (any, bool)
}

// An Entry is where one entry of an encoded map lies in the encoding, in
// byte offsets: the entry starts at Start, its key's characters at Key, its
// value at Value, and it ends at End.
type Entry struct{ Start, Key, Value, End uint32 }

// Scan implements LazyDecoder: it walks the map, allocating only the
// entries, and accepts only values whose decoding it checks in full: nil,
// booleans, numbers, strings, byte slices, sized integers, times in UTC or
// Local, and arrays of those.
func (c MsgPack) Scan(data []byte) ([]Entry, bool) {
	if len(data) > math.MaxUint32 {
		return nil, false
	}
	d := decoder{b: data}
	n, err := d.mapLen()
	if err != nil || n > len(d.b)/2 {
		return nil, false
	}
	var entries []Entry
	if n > 0 {
		entries = make([]Entry, n)
	}
	at := func() uint32 { return uint32(len(data) - len(d.b)) }
	for i := range entries {
		e := &entries[i]
		e.Start = at()
		k, ok := d.keyBytes()
		if !ok {
			return nil, false
		}
		e.Value = at()
		e.Key = e.Value - uint32(len(k))
		if !d.skipSimple() {
			return nil, false
		}
		e.End = at()
	}
	return entries, len(d.b) == 0
}

// FindShared implements LazyDecoder.
func (c MsgPack) FindShared(data []byte, entries []Entry, key string) (any, bool) {
	// Decode keeps the last of duplicate keys: so does this.
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if string(data[e.Key:e.Value]) != key {
			continue
		}
		v := data[e.Value:e.End]
		d := decoder{b: v, reg: c.reg}
		if len(v) > 0 && len(data) <= maxSharedStrings {
			d.s = unsafe.String(unsafe.SliceData(v), len(v))
		}
		val, err := d.value()
		return val, err == nil
	}
	return nil, false
}

// skipSimple skips one value of the kinds Scan accepts, reporting false
// for any other kind or a value that value() would reject.
func (d *decoder) skipSimple() bool {
	c, err := d.byte()
	if err != nil {
		return false
	}
	if c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3 {
		return true
	}
	if n, isStr, err := d.strLen(c); isStr {
		if err == nil {
			_, err = d.take(n)
		}
		return err == nil
	}
	if c&0xf0 == 0x90 || c == 0xdc || c == 0xdd {
		return d.skipArray(c)
	}
	size := 0
	switch c {
	case 0xc4, 0xc5, 0xc6: // bin 8, 16, 32
		n, err := d.length(1 << (c - 0xc4))
		if err != nil {
			return false
		}
		size = n
	case 0xca:
		size = 4
	case 0xcb:
		size = 8
	case 0xcc, 0xcd, 0xce, 0xcf:
		size = 1 << (c - 0xcc)
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size = 1 << (c - 0xd0)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return d.skipExt(1 << (c - 0xd4))
	case 0xc7: // ext 8
		n, err := d.length(1)
		if err != nil {
			return false
		}
		return d.skipExt(n)
	default:
		return false
	}
	_, err = d.take(size)
	return err == nil
}

// skipArray skips an array, whose first byte c was just read, of values
// of the kinds Scan accepts other than arrays.
func (d *decoder) skipArray(c byte) bool {
	n := int(c & 0x0f)
	if c == 0xdc || c == 0xdd {
		var err error
		if n, err = d.length(2 << (c - 0xdc)); err != nil {
			return false
		}
	}
	if n > len(d.b) { // each element takes a byte at least
		return false
	}
	for range n {
		if len(d.b) > 0 && (d.b[0]&0xf0 == 0x90 || d.b[0] == 0xdc || d.b[0] == 0xdd) {
			return false // nested: left to Decode
		}
		if !d.skipSimple() {
			return false
		}
	}
	return true
}

// skipExt skips an extension value of n payload bytes, its type byte
// first, if it is a sized integer of the right size or a time in UTC or
// Local.
func (d *decoder) skipExt(n int) bool {
	typ, err := d.byte()
	if err != nil {
		return false
	}
	p, err := d.take(n)
	if err != nil {
		return false
	}
	switch {
	case typ >= extInt8 && typ <= extUint64:
		return n == extSizes[typ] && (typ != extUint || binary.BigEndian.Uint64(p) <= math.MaxUint)
	case typ == extTime:
		return n == timeHeader && binary.BigEndian.Uint32(p[8:]) < 1e9 && (p[12] == zoneUTC || p[12] == zoneLocal)
	}
	return false
}

// Patcher is implemented by codecs that can re-encode a map they encoded
// with some entries set to new values, copying the bytes of the others as
// they are. The session Manager uses it to save a session of which a
// request changed a few values without decoding and encoding the rest;
// MsgPack implements it.
type Patcher interface {
	// AppendPatchEntries appends to dst what Encode would write for
	// Decode(data) with every entry of changes set in it, and returns the
	// extended buffer. entries is what LazyDecoder.Scan returned for data.
	AppendPatchEntries(dst, data []byte, entries []Entry, changes map[string]any) ([]byte, error)
}

// AppendPatch implements Patcher.
func (c MsgPack) AppendPatch(dst, data []byte, changes map[string]any) ([]byte, error) {
	entries, ok := c.Scan(data)
	if !ok {
		return nil, decodeErr("data to patch does not pass Scan")
	}
	return c.AppendPatchEntries(dst, data, entries, changes)
}

// AppendPatchEntries is AppendPatch given what Scan returned for data. The
// entries of data it keeps come first, in their order, then those of
// changes.
func (c MsgPack) AppendPatchEntries(dst, data []byte, entries []Entry, changes map[string]any) ([]byte, error) {
	kept := 0
	for _, e := range entries {
		if _, changed := changes[string(data[e.Key:e.Value])]; !changed {
			kept++
		}
	}
	e := encoder{buf: dst, reg: c.reg}
	if err := e.mapLen(kept + len(changes)); err != nil {
		return nil, err
	}
	for _, en := range entries {
		if _, changed := changes[string(data[en.Key:en.Value])]; !changed {
			e.buf = append(e.buf, data[en.Start:en.End]...)
		}
	}
	for k, v := range changes {
		if err := e.str(k); err != nil {
			return nil, err
		}
		if err := e.value(v); err != nil {
			return nil, fmt.Errorf("%w (key %q)", err, k)
		}
	}
	return e.buf, nil
}

// keyBytes reads a string key without copying it.
func (d *decoder) keyBytes() ([]byte, bool) {
	c, err := d.byte()
	if err != nil {
		return nil, false
	}
	n, isStr, err := d.strLen(c)
	if !isStr || err != nil {
		return nil, false
	}
	p, err := d.take(n)
	return p, err == nil
}
