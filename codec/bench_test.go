package codec_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sessionstore/sessionstore/codec"
)

// typicalSession is the 5-key session the codecs are chosen by.
func typicalSession() map[string]any {
	return map[string]any{
		"user_id":   int64(1234567),
		"name":      "Ada Lovelace",
		"roles":     []any{"admin", "editor"},
		"last_seen": time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		"csrf":      bytes.Repeat([]byte{0xab}, 32),
	}
}

// plainMsgPack is msgpack/v5 used directly, the nearest existing library: it
// is the reference to beat, though lossy (an int comes back as the smallest
// int kind its value fits, int8 for 5; a time comes back in Local).
type plainMsgPack struct{}

func (plainMsgPack) Encode(m map[string]any) ([]byte, error) { return msgpack.Marshal(m) }

func (plainMsgPack) Decode(data []byte) (map[string]any, error) {
	var m map[string]any
	err := msgpack.Unmarshal(data, &m)
	return m, err
}

// BenchmarkCodecs measures each codec on a typical session: Encode, Decode,
// and the pair (what a request that changes its session pays), with the
// encoded size as the "bytes" metric and the CPU time the process used per
// operation as "cpu-ns/op": on a busy machine ns/op also counts the time
// other processes held the CPU, cpu-ns/op does not (it does count the
// garbage collector's work, which allocations cause).
//
//	go test -run '^$' -bench Codecs -benchmem ./codec/
func BenchmarkCodecs(b *testing.B) {
	codecs := []struct {
		name  string
		codec codec.Codec
	}{
		{"MsgPack", codec.Default()},
		{"msgpack-v5-plain", plainMsgPack{}},
		{"JSON", codec.JSON{}},
		{"Gob", codec.Gob{}},
	}
	session := typicalSession()
	for _, c := range codecs {
		data, err := c.codec.Encode(session)
		if err != nil {
			b.Fatal(err)
		}
		size := float64(len(data))
		b.Run(c.name+"/Encode", func(b *testing.B) {
			defer reportMetrics(b, size)()
			for b.Loop() {
				if _, err := c.codec.Encode(session); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/Decode", func(b *testing.B) {
			defer reportMetrics(b, size)()
			for b.Loop() {
				if _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/EncodeDecode", func(b *testing.B) {
			defer reportMetrics(b, size)()
			for b.Loop() {
				data, err := c.codec.Encode(session)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportMetrics turns on allocation reporting; the function it returns,
// deferred, reports the encoded size and the CPU time per operation.
func reportMetrics(b *testing.B, size float64) func() {
	b.ReportAllocs()
	start := processCPU()
	return func() {
		b.ReportMetric(size, "bytes")
		if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkZoneCache decodes a time in Europe/Paris with a codec that
// caches loaded zones (NewMsgPack, Default) and with the zero value, which
// loads the zone from the time zone database at every decode.
func BenchmarkZoneCache(b *testing.B) {
	paris := mustZone(b, "Europe/Paris")
	session := map[string]any{"at": time.Date(2024, 5, 6, 7, 8, 9, 0, paris)}
	for _, c := range []struct {
		name  string
		codec codec.MsgPack
	}{{"NewMsgPack", codec.NewMsgPack()}, {"zero value", codec.MsgPack{}}} {
		data := mustEncode(b, c.codec, session)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
