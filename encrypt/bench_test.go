package encrypt_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/pairbench"
)

// benchSizes are the session sizes measured: a small session and a large
// one.
var benchSizes = []struct {
	name string
	size int
}{{"200B", 200}, {"4KiB", 4 << 10}}

// benchBackends are the backends measured: in memory, where the cost of
// sealing shows most, and Redis, the network store closest to it.
func benchBackends() []backendtest.Backend {
	var bs []backendtest.Backend
	for _, b := range backendtest.All() {
		if b.Name == "memory" || b.Name == "redis" {
			bs = append(bs, b)
		}
	}
	return bs
}

// BenchmarkPair measures a request's load+save pair of one session on a
// bare store and on the same store encrypted, side by side in one run:
//
//	./scripts/test -run '^$' -bench 'Pair$' -benchmem ./encrypt/
func BenchmarkPair(b *testing.B) {
	for _, be := range benchBackends() {
		for _, sz := range benchSizes {
			bare := be.NewStore(b)
			sealed := mustEncrypt(b, be.NewStore(b), ring(b))
			for _, c := range []struct {
				name  string
				store sessionstore.Store
			}{{"bare", bare}, {"encrypted", sealed}} {
				b.Run(fmt.Sprintf("%s/%s/%s", be.Name, sz.name, c.name), func(b *testing.B) {
					pair := newPair(b, c.store, sz.size)
					b.ReportAllocs()
					for b.Loop() {
						if err := pair(context.Background(), "bench-session-id-0123456789abcdef0123456789abcdef"); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkPairInterleaved runs the bare and the encrypted pair in turn
// within each iteration and reports each one's median (see
// internal/pairbench): on a network store, where separate runs meet
// different load, the difference of the medians is the figure to read.
//
//	./scripts/test -run '^$' -bench 'PairInterleaved' -benchmem ./encrypt/
func BenchmarkPairInterleaved(b *testing.B) {
	for _, be := range benchBackends() {
		for _, sz := range benchSizes {
			b.Run(be.Name+"/"+sz.name, func(b *testing.B) {
				contenders := []pairbench.Contender{
					{Name: "raw", Pair: newPair(b, be.NewStore(b), sz.size)},
					{Name: "encrypted", Pair: newPair(b, mustEncrypt(b, be.NewStore(b), ring(b)), sz.size)},
				}
				if be.Name == "memory" {
					// The floor, in the same moments: the cipher alone.
					contenders = append(contenders, pairbench.Contender{Name: "cipher", Pair: newCipherPair(sz.size)})
				}
				pairbench.Interleaved(b, contenders)
			})
		}
	}
}

// newPair returns a load+save pair on s for sessions of size bytes, as a
// request that changed its session makes: Load, then Save of new data.
func newPair(b *testing.B, s sessionstore.Store, size int) func(ctx context.Context, id string) error {
	data := make([]byte, size)
	rand.Read(data)
	exp := time.Now().Add(time.Hour)
	return func(ctx context.Context, id string) error {
		if _, _, err := s.Load(ctx, id); err != nil {
			return err
		}
		data[0]++
		return s.Save(ctx, id, data, exp)
	}
}

// BenchmarkCipher is the floor: the standard library's AES-256-GCM sealing
// and opening size bytes once each, into buffers it reuses, with no store.
// What BenchmarkPair's encrypted pairs cost above their bare ones, less
// this, is the wrapper's own cost.
func BenchmarkCipher(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			pair := newCipherPair(sz.size)
			b.ReportAllocs()
			for b.Loop() {
				if err := pair(context.Background(), "bench-session-id-0123456789abcdef0123456789abcdef"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// newCipherPair returns what sealing costs a load+save pair at the least:
// a fresh nonce, one Seal and one Open of size bytes, the id as additional
// data, no allocation. Buffers come from a pool, for parallel callers.
func newCipherPair(size int) func(ctx context.Context, id string) error {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	type buffers struct{ nonce, data, sealed, opened, ad []byte }
	pool := sync.Pool{New: func() any {
		return &buffers{
			nonce:  make([]byte, gcm.NonceSize()),
			data:   make([]byte, size),
			sealed: make([]byte, 0, size+gcm.Overhead()),
			opened: make([]byte, 0, size),
			ad:     make([]byte, 0, 64),
		}
	}}
	return func(_ context.Context, id string) error {
		b := pool.Get().(*buffers)
		defer pool.Put(b)
		rand.Read(b.nonce)
		b.ad = append(b.ad[:0], id...)
		b.sealed = gcm.Seal(b.sealed[:0], b.nonce, b.data, b.ad)
		var err error
		b.opened, err = gcm.Open(b.opened[:0], b.nonce, b.sealed, b.ad)
		return err
	}
}
