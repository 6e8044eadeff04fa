package encrypt_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/internal/backendtest"
)

// keyOf returns the key id a record at rest names.
func keyOf(data []byte) string {
	if len(data) < 2 || data[0] != 0xE1 || len(data) < 2+int(data[1]) {
		return ""
	}
	return string(data[2 : 2+int(data[1])])
}

func TestReencrypt(t *testing.T) {
	k1, k2 := keyText(t, "1"), keyText(t, "2")
	old := newFixture(t, mustKeys(t, k1))
	const n = 2500
	expiry := map[string]time.Time{}
	for i := range n {
		id := fmt.Sprintf("id-%04d", i)
		old.save(t, id, "data "+id)
		expiry[id] = old.raw(t, id).Expiry
	}
	old.putRaw(t, "garbage", []byte("not sealed"))

	rotated := wrapFixture(t, old.inner, mustKeys(t, k2, k1))
	var reports []encrypt.Progress
	p, err := encrypt.Reencrypt(context.Background(), rotated.store, func(p encrypt.Progress) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	want := encrypt.Progress{Total: n + 1, Visited: n + 1, Rewritten: n, Unreadable: 1}
	if p != want {
		t.Fatalf("Reencrypt = %+v, want %+v", p, want)
	}
	if len(reports) != 3 || reports[0].Visited != 1000 || reports[1].Visited != 2000 || reports[2] != p {
		t.Fatalf("progress reports %+v; want at 1000, 2000 and the end", reports)
	}
	if out := rotated.log.String(); !strings.Contains(out, "op=reencrypt") || !strings.Contains(out, "records=1") {
		t.Fatalf("no warning for the record that does not open:\n%s", out)
	}

	// Every record is now under key 2, with its expiry kept, and a ring
	// without key 1 reads them all.
	retired := wrapFixture(t, old.inner, mustKeys(t, k2))
	for id, exp := range expiry {
		raw := old.raw(t, id)
		if keyOf(raw.Data) != "2" || !raw.Expiry.Equal(exp) {
			t.Fatalf("%s at rest: key %q expiry %v; want key 2, expiry %v", id, keyOf(raw.Data), raw.Expiry, exp)
		}
		retired.wantData(t, id, "data "+id)
	}

	// A second pass finds nothing left to do.
	p, err = encrypt.Reencrypt(context.Background(), rotated.store, nil)
	if want := (encrypt.Progress{Total: n + 1, Visited: n + 1, Current: n, Unreadable: 1}); err != nil || p != want {
		t.Fatalf("second pass = %+v, %v; want %+v", p, err, want)
	}
}

func TestReencryptRefuses(t *testing.T) {
	keys := mustKeys(t, keyText(t, "1"))
	f := newFixture(t, keys)
	if _, err := encrypt.Reencrypt(context.Background(), f.inner, nil); err == nil {
		t.Error("Reencrypt of a store not made by New did not fail")
	}
	// A store that cannot iterate (memcached), or cannot swap.
	noIterate := struct {
		sessionstore.Store
		sessionstore.Swapper
	}{f.inner, f.inner}
	noSwap := struct {
		sessionstore.Store
		sessionstore.Iterator
	}{f.inner, f.inner}
	for _, inner := range []sessionstore.Store{noIterate, noSwap} {
		s, err := encrypt.New(inner, keys, encrypt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := encrypt.Reencrypt(context.Background(), s, nil); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Reencrypt over %T = %v; want errors.ErrUnsupported", inner, err)
		}
	}
}

func TestReencryptStopsWithTheContext(t *testing.T) {
	k1 := keyText(t, "1")
	f := newFixture(t, mustKeys(t, k1))
	for i := range 10 {
		f.save(t, strconv.Itoa(i), "x")
	}
	rotated := wrapFixture(t, f.inner, mustKeys(t, keyText(t, "2"), k1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := encrypt.Reencrypt(ctx, rotated.store, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reencrypt with a cancelled context = %v", err)
	}
}

// hookStore calls before for each record its walk visits, before handing
// the record on: a write there lands between the pass reading a record and
// resealing it.
type hookStore struct {
	sessionstore.Store
	sessionstore.Swapper
	iterator sessionstore.Iterator
	before   func(id string)
}

func (h *hookStore) Iterate(ctx context.Context, fn func(string, sessionstore.Record) bool) error {
	return h.iterator.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		h.before(id)
		return fn(id, rec)
	})
}

// TestReencryptKeepsAConcurrentWrite makes every reseal race a write, made
// by a process still sealing with the old key or already with the new one,
// and checks that the write survives and ends up under the new key.
func TestReencryptKeepsAConcurrentWrite(t *testing.T) {
	for _, writer := range []string{"old primary", "new primary"} {
		t.Run(writer, func(t *testing.T) {
			k1, k2 := keyText(t, "1"), keyText(t, "2")
			base := newFixture(t, mustKeys(t, k1))
			for i := range 20 {
				base.save(t, strconv.Itoa(i), "before")
			}
			writerKeys := mustKeys(t, k1, k2)
			if writer == "new primary" {
				writerKeys = mustKeys(t, k2, k1)
			}
			other := wrapFixture(t, base.inner, writerKeys)
			hook := &hookStore{Store: base.inner, Swapper: base.inner, iterator: base.inner}
			hook.before = func(id string) { other.save(t, id, "written during the pass") }
			s, err := encrypt.New(hook, mustKeys(t, k2, k1), encrypt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := encrypt.Reencrypt(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := encrypt.Progress{Visited: 20, Rewritten: 20}
			if writer == "new primary" {
				want = encrypt.Progress{Visited: 20, Current: 20}
			}
			if p != want {
				t.Fatalf("Reencrypt = %+v, want %+v", p, want)
			}
			retired := wrapFixture(t, base.inner, mustKeys(t, k2))
			for i := range 20 {
				id := strconv.Itoa(i)
				if k := keyOf(base.raw(t, id).Data); k != "2" {
					t.Fatalf("%s is under key %q after the pass", id, k)
				}
				retired.wantData(t, id, "written during the pass")
			}
		})
	}
}

// TestRotationWithConcurrentWriters rotates keys on every backend that can
// iterate while writers increment counters with compare-and-swap, some
// still sealing with the old key, some with the new one. No increment is
// lost, and once the writers stopped and a second pass ran, a ring without
// the old key reads every counter.
func TestRotationWithConcurrentWriters(t *testing.T) {
	for _, b := range backendtest.All() {
		if b.Name == "memcache" {
			continue // cannot iterate: TestReencryptRefuses
		}
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			k1, k2 := keyText(t, "1"), keyText(t, "2")
			inner := b.NewStore(t)
			n := 100
			if b.Name == "memory" {
				n = 2000
			}
			ids := make([]string, n)
			seed := mustEncrypt(t, inner, mustKeys(t, k1))
			for i := range ids {
				ids[i] = fmt.Sprintf("counter-%04d", i)
				if err := seed.Save(ctx, ids[i], []byte("0"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			lagging := mustEncrypt(t, inner, mustKeys(t, k1, k2))
			current := mustEncrypt(t, inner, mustKeys(t, k2, k1))

			increments := make([]atomic.Int64, n)
			stop := make(chan struct{})
			var writers sync.WaitGroup
			var warm sync.WaitGroup // each writer has made one increment
			errs := make(chan error, 4)
			for w, store := range []sessionstore.Store{lagging, current, lagging, current} {
				warm.Add(1)
				writers.Go(func() {
					first := true
					for {
						select {
						case <-stop:
							return
						default:
						}
						i := rand.IntN(n)
						ok, err := increment(ctx, store, ids[i])
						if err != nil {
							errs <- fmt.Errorf("writer %d: %w", w, err)
							if first {
								warm.Done()
							}
							return
						}
						if ok {
							increments[i].Add(1)
							if first {
								first = false
								warm.Done()
							}
						}
					}
				})
			}
			warm.Wait()
			p, err := encrypt.Reencrypt(ctx, current, nil)
			close(stop)
			writers.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Visited != n || p.Rewritten+p.Current+p.Gone+p.Unreadable != p.Visited || p.Gone+p.Unreadable != 0 {
				t.Fatalf("Reencrypt = %+v for %d records", p, n)
			}
			total := int64(0)
			for i := range increments {
				total += increments[i].Load()
			}
			t.Logf("pass %+v during %d increments", p, total)

			// The lagging writers sealed with key 1 after the pass: a
			// second one, with no writer left, moves them.
			if _, err := encrypt.Reencrypt(ctx, current, nil); err != nil {
				t.Fatal(err)
			}
			retired := mustEncrypt(t, inner, mustKeys(t, k2))
			for i, id := range ids {
				rec, found, err := retired.Load(ctx, id)
				if err != nil || !found {
					t.Fatalf("%s after retiring key 1: found=%v err=%v", id, found, err)
				}
				if got, want := string(rec.Data), strconv.FormatInt(increments[i].Load(), 10); got != want {
					t.Fatalf("%s = %s, want %s: an increment was lost", id, got, want)
				}
			}
		})
	}
}

// increment adds one to the counter under id with one compare-and-swap, and
// reports whether it won.
func increment(ctx context.Context, s sessionstore.Store, id string) (bool, error) {
	rec, found, err := s.Load(ctx, id)
	if err != nil || !found {
		return false, fmt.Errorf("load %s: found=%v err=%v", id, found, err)
	}
	v, err := strconv.Atoi(string(rec.Data))
	if err != nil {
		return false, err
	}
	return s.(sessionstore.Swapper).CompareAndSwap(ctx, id, rec.Version, []byte(strconv.Itoa(v+1)), rec.Expiry)
}
