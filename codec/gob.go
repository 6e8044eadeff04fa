package codec

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sync"
	"time"
)

// Gob encodes with encoding/gob, the format scs and gorilla/sessions use. It
// is the slowest and largest of the codecs (see the package documentation);
// use it for values that rely on gob (types implementing gob.GobEncoder,
// types a program already registers with gob.Register).
//
// Gob keeps every basic kind exactly (int8 stays int8), and []byte,
// map[string]any, []any and the slices and maps MsgPack keeps without
// registration ([]string, []int, []int64, []float64, []bool, [][]byte,
// map[string]string, map[string]int), each with its type. A time.Time keeps
// its instant and offset but not its zone name: it comes back in Local when
// the offset matches Local's, else in a fixed zone with an empty name. An
// empty slice comes back nil (an empty []byte inside a [][]byte too) and a
// nil map comes back empty. Any other type stored in the map, your structs
// included, must be registered with gob.Register before Encode or Decode
// sees it. That registry is encoding/gob's and is global to the program:
// this package cannot keep it per codec. encoding/gob registers the slices
// of basic kinds itself; Gob registers time.Time, map[string]any, []any,
// [][]byte, map[string]string and map[string]int the first time it is
// used, unless the program registered them already.
//
// Decode is only as robust as encoding/gob against corrupted data: it never
// panics, but a map nested in the session whose size was corrupted makes gob
// allocate that size up front (Go issue 79539), which can take gigabytes and
// minutes. Data a server wrote to its own store is trusted; for data that
// may be tampered with, use MsgPack, which checks every size against the
// input's length first.
//
// Gob stops a cycle of maps and slices with ErrEncode (gob alone would
// overflow the stack); a cycle through pointers inside your own types is
// still gob's to handle.
type Gob struct{}

var registerGobTypes sync.Once

// gobRegister registers the types session maps hold that gob does not
// register itself. A program that already registered one of them under
// another name makes gob.Register panic; its own registration then serves.
func gobRegister() {
	for _, v := range []any{time.Time{}, map[string]any{}, []any{},
		[][]byte{}, map[string]string{}, map[string]int{}} {
		func() {
			defer func() { _ = recover() }()
			gob.Register(v)
		}()
	}
}

// Encode encodes values as one gob stream: type definitions, then the map.
func (Gob) Encode(values map[string]any) ([]byte, error) {
	registerGobTypes.Do(gobRegister)
	if values == nil {
		values = map[string]any{}
	}
	if err := checkNesting(values, 1); err != nil {
		return nil, wrapEncode("gob", err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, wrapEncode("gob", err)
	}
	return buf.Bytes(), nil
}

// Decode decodes data written by Encode.
func (Gob) Decode(data []byte) (map[string]any, error) {
	registerGobTypes.Do(gobRegister)
	r := bytes.NewReader(data)
	// A non-nil map keeps gob from allocating it with the size the data
	// announces, which corrupted data can make gigabytes (Go issue 79539,
	// unfixed in Go 1.26; gob still does it for nested maps).
	m := map[string]any{}
	if err := gob.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: gob: %w", ErrDecode, err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: gob: %d bytes after the map", ErrDecode, r.Len())
	}
	return m, nil
}

// checkNesting reports maps and slices nested deeper than maxDepth, which is
// how a cycle shows, before an encoder recurses into them for ever.
func checkNesting(v any, depth int) error {
	switch v := v.(type) {
	case map[string]any:
		if depth > maxDepth {
			return errTooDeep
		}
		for _, e := range v {
			if err := checkNesting(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if depth > maxDepth {
			return errTooDeep
		}
		for _, e := range v {
			if err := checkNesting(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

var errTooDeep = fmt.Errorf("maps and slices nested deeper than %d levels (a cycle?)", maxDepth)
