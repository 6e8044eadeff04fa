package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JSON encodes with encoding/json, for sessions that programs in other
// languages read or write. The data is one JSON object. Decode accepts any
// JSON object, so another program may write sessions too.
//
// JSON has only strings, numbers, booleans, null, arrays and objects, so
// Decode returns only string, int64, uint64, float64, bool, nil, []any and
// map[string]any. What that loses:
//
//   - Every integer kind comes back as int64 (uint64 above math.MaxInt64):
//     an int stored is an int64 read.
//   - A number written without a fraction or exponent is read as an
//     integer, any other as a float64. Go writes an integral float
//     without a fraction, so float64(2) comes back as int64(2) (and -0 as
//     int64(0)). A float32 is written with float32 precision and comes back
//     as the nearest float64 (float32(0.1) as 0.1). NaN and infinities cannot be encoded
//     (ErrEncode), and a number beyond float64's range does not decode.
//   - A time.Time becomes its RFC 3339 string (with nanoseconds and offset)
//     and comes back as that string, not as a time.Time.
//   - A []byte becomes a standard base64 string and comes back as that
//     string.
//   - A struct becomes an object under encoding/json's rules (json tags,
//     exported fields) and comes back as a map[string]any; no registration
//     is needed or possible.
//   - A slice or map of one element type ([]string, []int, []float64,
//     [][]byte, map[string]string, map[string]int, ...) comes back as a
//     []any or map[string]any of its elements, each changed as above:
//     []string{"a"} as []any{"a"}, []int{1} as []any{int64(1)}, [][]byte as
//     base64 strings.
//   - A nil slice or map is written as null and comes back as nil.
//   - Invalid UTF-8 in strings is replaced by U+FFFD.
//
// Unlike the other codecs, JSON writes map keys in sorted order, so equal
// maps encode to equal bytes.
type JSON struct{}

// Encode encodes values as a JSON object.
func (JSON) Encode(values map[string]any) ([]byte, error) {
	if values == nil {
		return []byte("{}"), nil
	}
	data, err := json.Marshal(values)
	if err != nil {
		return nil, wrapEncode("json", err)
	}
	return data, nil
}

// Decode decodes one JSON object, numbers as described on [JSON].
func (JSON) Decode(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: json: null instead of an object", ErrDecode)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: json: data after the object", ErrDecode)
	}
	if err := numbers(m); err != nil {
		return nil, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	return m, nil
}

// numbers replaces, in place, the json.Number values in v with Go numbers.
func numbers(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			n, err := number(e)
			if err != nil {
				return err
			}
			v[k] = n
		}
	case []any:
		for i, e := range v {
			n, err := number(e)
			if err != nil {
				return err
			}
			v[i] = n
		}
	}
	return nil
}

// number returns v with a json.Number replaced by an int64, a uint64 or a
// float64, and the numbers inside a map or slice replaced in place.
func number(v any) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return v, numbers(v)
	}
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	return f, nil
}
