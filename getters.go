package sessionstore

import (
	"math"
	"time"
)

// The typed getters return the zero value when key is missing or holds a
// value that does not convert. They convert between number kinds when the
// value fits, because what a codec gives back is not always the kind that
// was stored: JSON turns every number into a float64, and another program
// sharing the sessions may write an int as a uint8.

// GetString returns the string stored under key, or "".
func (s *Session) GetString(key string) string {
	v, _ := s.Get(key)
	str, _ := v.(string)
	return str
}

// GetBool returns the bool stored under key, or false.
func (s *Session) GetBool(key string) bool {
	v, _ := s.Get(key)
	b, _ := v.(bool)
	return b
}

// GetInt returns the integer stored under key as an int, or 0. Any integer
// kind converts when it fits in an int, and so does a float64 holding a
// whole number (what JSON gives back).
func (s *Session) GetInt(key string) int {
	v, _ := s.Get(key)
	n, ok := toInt64(v)
	if !ok || n != int64(int(n)) {
		return 0
	}
	return int(n)
}

// GetInt64 returns the integer stored under key as an int64, or 0, with the
// conversions of [Session.GetInt].
func (s *Session) GetInt64(key string) int64 {
	v, _ := s.Get(key)
	n, _ := toInt64(v)
	return n
}

// GetFloat64 returns the number stored under key as a float64, or 0. Every
// integer and float kind converts.
func (s *Session) GetFloat64(key string) float64 {
	v, _ := s.Get(key)
	f, _ := toFloat64(v)
	return f
}

// GetBytes returns the []byte stored under key, or nil.
func (s *Session) GetBytes(key string) []byte {
	v, _ := s.Get(key)
	b, _ := v.([]byte)
	return b
}

// GetTime returns the time.Time stored under key, or the zero time. A
// string in RFC 3339 format (what JSON gives back) converts.
func (s *Session) GetTime(key string) time.Time {
	v, _ := s.Get(key)
	t, _ := toTime(v)
	return t
}

// Get returns the value stored under key in s as a T, and whether there is
// one of that type. Besides an exact type match, the conversions of the
// typed getters apply when T is int, int64, float64 or time.Time.
//
//	cart, ok := sessionstore.Get[[]any](s, "cart")
func Get[T any](s *Session, key string) (T, bool) {
	v, ok := s.Get(key)
	if !ok {
		var zero T
		return zero, false
	}
	if t, ok := v.(T); ok {
		return t, true
	}
	var conv any
	var zero T
	ok = false
	switch any(zero).(type) {
	case int:
		n, ok2 := toInt64(v)
		ok = ok2 && n == int64(int(n))
		conv = int(n)
	case int64:
		conv, ok = toInt64(v)
	case float64:
		conv, ok = toFloat64(v)
	case time.Time:
		conv, ok = toTime(v)
	}
	if !ok {
		return zero, false
	}
	return conv.(T), true
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintToInt64(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintToInt64(n)
	case float32:
		return floatToInt64(float64(n))
	case float64:
		return floatToInt64(n)
	}
	return 0, false
}

func uintToInt64(n uint64) (int64, bool) {
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// floatToInt64 converts f when it is a whole number an int64 holds exactly.
func floatToInt64(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func toFloat64(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	n, ok := toInt64(v)
	return float64(n), ok
}

func toTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		p, err := time.Parse(time.RFC3339Nano, t)
		return p, err == nil
	}
	return time.Time{}, false
}
