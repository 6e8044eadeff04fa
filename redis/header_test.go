package redis

import (
	"testing"
	"time"
)

// BenchmarkHeader measures all the CPU work the Store adds to a raw
// GET+SET pair of the same data: encoding a 200-byte record with its header
// for SET, and decoding it after GET. Compare it with the round trips of
// BenchmarkPair.
func BenchmarkHeader(b *testing.B) {
	b.ReportAllocs()
	data := make([]byte, 200)
	expiry := time.Now().Add(time.Hour).UnixMilli()
	now := time.Now()
	for b.Loop() {
		val := string(encode(data, expiry, newVersion(0))) // go-redis returns GET replies as strings
		if _, live, err := decode(val, now); !live || err != nil {
			b.Fatal(live, err)
		}
	}
}
