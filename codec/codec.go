// Package codec turns session values (a map[string]any) into bytes for a
// sessionstore.Store and back.
//
// Three codecs are offered; all are safe for concurrent use and their zero
// values work:
//
//   - [MsgPack], the default ([Default]): a MessagePack encoding that keeps
//     the exact Go type of every value it supports, including each int kind
//     and the location of a time.Time. Other types (your structs) are
//     registered per codec with [NewMsgPack].
//   - [Gob]: encoding/gob, the format of scs and gorilla/sessions. Slow and
//     large; it keeps int kinds but loses time zone names, and its type
//     registry is gob's own, global one.
//   - [JSON]: for sessions shared with programs in other languages. Lossy.
//
// # Choice of the default
//
// The default was chosen by measuring Encode then Decode of a typical 5-key
// session (an int64 user id, a name, a []any of two roles, a time.Time, a
// 32-byte []byte token) with
//
//	go test -run '^$' -bench Codecs -benchmem -count 8 ./codec/
//
// Medians of 8 runs on a 2-core AMD EPYC (Go 1.26) that other jobs kept
// busy, so the absolute times are high (msgpack/v5 alone measured 1.4 µs
// on a quiet machine) and their ratios are what counts; CPU time per
// operation is less disturbed by the other jobs than elapsed time.
// Allocations and sizes do not vary:
//
//	codec                  CPU time   elapsed   allocs   size    round trip
//	MsgPack (the default)    2.3 µs    2.9 µs      13   122 B   exact
//	msgpack/v5 Marshal       3.7 µs    7.8 µs      25   115 B   int 5 as int8, times in Local
//	JSON                     9.5 µs   13.4 µs      50   167 B   lossy, see JSON
//	Gob                     44.2 µs   59.7 µs     279   246 B   zone names lost
//
// MsgPack costs a twentieth of gob's time and allocations for half the
// size, fewer allocations than msgpack/v5 used directly (it writes and
// reads the MessagePack format itself rather than by reflection, and the
// strings of a small session share one allocation), and it is the only one
// of them that gives back every supported value with its exact type.
//
// # What each codec keeps
//
// MsgPack round-trips, with their exact dynamic types:
//
//   - nil, bool, string, int, int8, int16, int32, int64, uint, uint8,
//     uint16, uint32, uint64, float32, float64, []byte;
//   - time.Time: instant, and location (UTC, Local, a fixed zone or a zone
//     of the time zone database such as Europe/Paris, by name);
//   - []string, []int, []int64, []float64, []bool, [][]byte,
//     map[string]string and map[string]int, without registration;
//   - map[string]any and []any nested to any depth up to 1000 levels;
//   - values of the types registered with [NewMsgPack].
//
// A nil []byte, or a nil slice or map of the built-in types above, comes
// back empty rather than nil, with its type: []string(nil) as []string{}, a
// nil []byte in a [][]byte as []byte{}. Any other type
// fails to encode with an error wrapping [ErrEncode]; a slice or map of
// another element type ([]int32, map[string]bool) may be registered.
//
// Gob keeps what encoding/gob keeps: every basic kind exactly, and the
// slices and maps listed above with their types, but an empty slice comes
// back nil, a nil map empty, and a time.Time with its offset and without its
// zone name (in Local when the offset matches Local's). Other types stored
// in the map must be registered with gob.Register, as for scs and
// gorilla/sessions.
//
// JSON keeps strings, bools, nil, map[string]any and []any; a []string
// comes back as a []any of strings and a map[string]string as a
// map[string]any. See [JSON] for what becomes of numbers, times, byte
// slices and structs.
//
// # Errors
//
// Decode never panics on any input: data that does not decode (truncated,
// corrupted, written by another codec, or naming a type that is no longer
// registered) gives an error wrapping [ErrDecode], which lets the session
// Manager start a fresh session instead of failing every request. Encode
// fails with an error wrapping [ErrEncode] on a value it cannot represent.
package codec

import (
	"errors"
	"strings"
)

// Codec turns session values into bytes and back.
//
// Encode of a nil map encodes an empty one. Decode returns a non-nil map,
// never keeps a reference to data, and fails with an error wrapping ErrDecode
// on anything Encode did not produce (or, for MsgPack and JSON, an equivalent
// encoding written by another program). Implementations are safe for
// concurrent use.
type Codec interface {
	Encode(values map[string]any) ([]byte, error)
	Decode(data []byte) (map[string]any, error)
}

// SharedDecoder is implemented by codecs that can decode without copying
// strings out of their input, for callers that never modify the input
// afterwards; MsgPack implements it.
type SharedDecoder interface {
	// DecodeShared is Decode, except that the strings of the result may
	// share data's memory: the caller must never modify data afterwards.
	DecodeShared(data []byte) (map[string]any, error)
}

// Appender is implemented by codecs that can encode into a buffer the
// caller provides. The session Manager uses it to write a record's header
// and its values into one buffer, sparing an allocation and a copy per
// save; MsgPack implements it.
type Appender interface {
	// AppendEncode appends what Encode(values) returns to dst and returns
	// the extended buffer.
	AppendEncode(dst []byte, values map[string]any) ([]byte, error)
}

var (
	// ErrDecode is wrapped by every Decode failure: the data was not written
	// by this codec, is truncated or corrupted, or holds a type the codec no
	// longer knows.
	ErrDecode = errors.New("codec: cannot decode")

	// ErrEncode is wrapped by Encode when a value cannot be represented: a
	// type the codec does not support (a channel, a func, an unregistered
	// struct), a NaN for JSON, or a structure nested too deep (a cycle).
	ErrEncode = errors.New("codec: cannot encode")
)

// Default returns the codec a session Manager uses unless told otherwise:
// a [MsgPack] with no registered types and its own cache of time zones. Use
// [NewMsgPack] to register the types your sessions store.
func Default() Codec { return NewMsgPack() }

// encodeError wraps ErrEncode, and the cause if any, without repeating
// ErrEncode's text: the caller's prefix ("sessionstore: save: encode: ")
// already says that encoding failed, so the message is only what the codec
// adds, under the codec's name.
type encodeError struct {
	msg   string
	cause error
}

func (e *encodeError) Error() string { return e.msg }

func (e *encodeError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrEncode}
	}
	return []error{ErrEncode, e.cause}
}

// wrapEncode returns err of the codec named name as an encode error, its
// message under one "name: " prefix (encoding/gob's and encoding/json's
// messages already start with theirs).
func wrapEncode(name string, err error) error {
	return &encodeError{msg: name + ": " + strings.TrimPrefix(err.Error(), name+": "), cause: err}
}
