package encrypt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/encrypt"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/storewrap"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
)

func TestMain(m *testing.M) {
	backendtest.ShorterModelRuns(25) // the suite over every backend; each is proven in full in its own package
	testservers.Main(m)
}

// keyText returns the text form of a new key with the given id.
func keyText(t testing.TB, id string) string {
	t.Helper()
	k, err := encrypt.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustKeys(t testing.TB, entries ...string) *encrypt.Keys {
	t.Helper()
	k, err := encrypt.ParseKeys(strings.Join(entries, ","))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logBuffer is a slog handler's output, safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fixture is an encrypted store over a memory store the test can reach
// directly, to see and alter what is at rest.
type fixture struct {
	inner *memory.Store
	store sessionstore.Store
	keys  *encrypt.Keys
	log   *logBuffer
}

func newFixture(t testing.TB, keys *encrypt.Keys) *fixture {
	t.Helper()
	inner := memory.New(memory.Options{})
	t.Cleanup(func() { inner.Close() })
	return wrapFixture(t, inner, keys)
}

// wrapFixture wraps another store over the same memory store, as a second
// process with its own ring would.
func wrapFixture(t testing.TB, inner *memory.Store, keys *encrypt.Keys) *fixture {
	t.Helper()
	f := &fixture{inner: inner, keys: keys, log: &logBuffer{}}
	var err error
	f.store, err = encrypt.New(inner, keys, encrypt.Options{Logger: slog.New(slog.NewTextHandler(f.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// raw returns the record at rest under id.
func (f *fixture) raw(t testing.TB, id string) sessionstore.Record {
	t.Helper()
	rec, found, err := f.inner.Load(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("inner Load(%q) = %v, %v", id, found, err)
	}
	return rec
}

// putRaw stores data at rest under id, bypassing the encryption.
func (f *fixture) putRaw(t testing.TB, id string, data []byte) {
	t.Helper()
	if err := f.inner.Save(context.Background(), id, data, hourFromNow()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) save(t testing.TB, id, data string) {
	t.Helper()
	if err := f.store.Save(context.Background(), id, []byte(data), hourFromNow()); err != nil {
		t.Fatal(err)
	}
}

// wantAbsent checks that Load of id reports not found with a nil error.
func (f *fixture) wantAbsent(t testing.TB, id string) {
	t.Helper()
	rec, found, err := f.store.Load(context.Background(), id)
	if err != nil || found {
		t.Fatalf("Load(%q) = %q, %v, %v; want not found, nil error", id, rec.Data, found, err)
	}
}

func (f *fixture) wantData(t testing.TB, id, want string) {
	t.Helper()
	rec, found, err := f.store.Load(context.Background(), id)
	if err != nil || !found || string(rec.Data) != want {
		t.Fatalf("Load(%q) = %q, %v, %v; want %q", id, rec.Data, found, err, want)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func hourFromNow() time.Time { return time.Now().Add(time.Hour) }

const secretData = "user=ann@example.com;card=4111111111111111"

func TestNothingReadableAtRest(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	f.save(t, "id", secretData)
	rec := f.raw(t, "id")
	if bytes.Contains(rec.Data, []byte("ann@example.com")) || bytes.Contains(rec.Data, []byte("4111")) {
		t.Fatalf("the record at rest holds the data in clear: %q", rec.Data)
	}
	if want := len(secretData) + f.keys.Overhead(); len(rec.Data) != want {
		t.Fatalf("record at rest is %d bytes, want %d (data + Overhead)", len(rec.Data), want)
	}
	if f.keys.Overhead() != 31 {
		t.Fatalf("Overhead with key id %q = %d, want 31 as documented", "1", f.keys.Overhead())
	}
	f.wantData(t, "id", secretData)

	// A fresh nonce per write: the same data saved twice differs at rest.
	f.save(t, "id", secretData)
	if again := f.raw(t, "id"); bytes.Equal(again.Data, rec.Data) {
		t.Fatal("the same data saved twice gave the same record at rest: nonce reused")
	}
}

// TestTamperedRecordReadsAsAbsent flips one bit at every position of a
// sealed record: the format byte, the key id and its length, the nonce, the
// ciphertext and the tag. Each reads as absent with a warning that names the
// key id and the reason, and never the data or the store key.
func TestTamperedRecordReadsAsAbsent(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "k1")))
	const id = "store-key-do-not-log"
	f.save(t, id, secretData)
	sealed := f.raw(t, id).Data
	for i := range sealed {
		altered := bytes.Clone(sealed)
		altered[i] ^= 0x10
		f.putRaw(t, id, altered)
		f.wantAbsent(t, id)
	}
	out := f.log.String()
	if n := strings.Count(out, "level=WARN"); n != len(sealed) {
		t.Fatalf("%d warnings for %d altered records:\n%s", n, len(sealed), out)
	}
	for _, want := range []string{"key_id=k1", "reason=\"authentication failed", "reason=\"sealed with a key not in the ring\"", "reason=\"not a record sealed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the warnings never say %s:\n%s", want, out)
		}
	}
	for _, never := range []string{id, "ann@example.com"} {
		if strings.Contains(out, never) {
			t.Errorf("a warning shows %q:\n%s", never, out)
		}
	}
	// The untouched record still opens.
	f.putRaw(t, id, sealed)
	f.wantData(t, id, secretData)
}

func TestTruncatedRecordReadsAsAbsent(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	f.save(t, "id", secretData)
	sealed := f.raw(t, "id").Data
	for n := range len(sealed) {
		f.putRaw(t, "id", sealed[:n])
		f.wantAbsent(t, "id")
	}
	if !strings.Contains(f.log.String(), "reason=truncated") {
		t.Fatalf("no warning says truncated:\n%s", f.log.String())
	}
	// Bytes appended to a record fail the tag too.
	f.putRaw(t, "id", append(bytes.Clone(sealed), 0))
	f.wantAbsent(t, "id")
}

func TestRecordMovedToAnotherIDDoesNotOpen(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	f.save(t, "victim", secretData)
	f.putRaw(t, "attacker", f.raw(t, "victim").Data)
	f.wantAbsent(t, "attacker")
	f.wantData(t, "victim", secretData)
}

func TestWrongKey(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	f.save(t, "id", secretData)

	t.Run("another key under the same id", func(t *testing.T) {
		other := wrapFixture(t, f.inner, mustKeys(t, keyText(t, "1")))
		other.wantAbsent(t, "id")
		if !strings.Contains(other.log.String(), "authentication failed") {
			t.Fatalf("warning:\n%s", other.log.String())
		}
	})
	t.Run("a ring without the key", func(t *testing.T) {
		other := wrapFixture(t, f.inner, mustKeys(t, keyText(t, "2")))
		other.wantAbsent(t, "id")
		if out := other.log.String(); !strings.Contains(out, "key_id=1") || !strings.Contains(out, "not in the ring") {
			t.Fatalf("warning:\n%s", out)
		}
	})
	t.Run("data stored without encryption", func(t *testing.T) {
		f.putRaw(t, "plain", []byte(secretData))
		f.wantAbsent(t, "plain")
	})
}

// TestSwapOverARecordThatDoesNotOpen: Load reads such a record as absent,
// so a swap over version 0 ("only if absent") must write over it.
func TestSwapOverARecordThatDoesNotOpen(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	ctx := context.Background()
	f.putRaw(t, "id", []byte("garbage"))
	f.wantAbsent(t, "id")
	sw := f.store.(sessionstore.Swapper)
	ok, err := sw.CompareAndSwap(ctx, "id", 0, []byte("new"), hourFromNow())
	if err != nil || !ok {
		t.Fatalf("CompareAndSwap(version 0) over a record that does not open = %v, %v; want true", ok, err)
	}
	f.wantData(t, "id", "new")
	// Over a record that opens, version 0 still loses.
	ok, err = sw.CompareAndSwap(ctx, "id", 0, []byte("newer"), hourFromNow())
	if err != nil || ok {
		t.Fatalf("CompareAndSwap(version 0) over a live record = %v, %v; want false", ok, err)
	}
	f.wantData(t, "id", "new")
}

func TestIterateSkipsRecordsThatDoNotOpen(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	f.save(t, "a", "A")
	f.save(t, "b", "B")
	f.putRaw(t, "forged", []byte{0xE1, 2, 'k', '9', 1, 2, 3})
	got := map[string]string{}
	err := f.store.(sessionstore.Iterator).Iterate(context.Background(), func(id string, rec sessionstore.Record) bool {
		got[id] = string(rec.Data)
		return true
	})
	if err != nil || len(got) != 2 || got["a"] != "A" || got["b"] != "B" {
		t.Fatalf("Iterate = %v, %v; want a and b", got, err)
	}
	if out := f.log.String(); strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "records=1") {
		t.Fatalf("want one warning for the walk:\n%s", out)
	}
}

func TestVersionsAndExpiryPassThrough(t *testing.T) {
	f := newFixture(t, mustKeys(t, keyText(t, "1")))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Round(time.Millisecond)
	if err := f.store.Save(ctx, "id", []byte("x"), exp); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := f.store.Load(ctx, "id")
	raw := f.raw(t, "id")
	if rec.Version == 0 || rec.Version != raw.Version || !rec.Expiry.Equal(raw.Expiry) || !rec.Expiry.Equal(exp) {
		t.Fatalf("Load = version %d expiry %v; at rest version %d expiry %v; saved expiry %v", rec.Version, rec.Expiry, raw.Version, raw.Expiry, exp)
	}
}

func TestTooLarge(t *testing.T) {
	const max = 1000
	inner := memory.New(memory.Options{MaxDataSize: max})
	t.Cleanup(func() { inner.Close() })
	keys := mustKeys(t, keyText(t, "1"))
	store, err := encrypt.New(inner, keys, encrypt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fits := bytes.Repeat([]byte{'a'}, max-keys.Overhead())
	if err := store.Save(ctx, "id", fits, hourFromNow()); err != nil {
		t.Fatalf("Save of max - Overhead bytes: %v", err)
	}
	err = store.Save(ctx, "id", append(fits, 'b'), hourFromNow())
	if !errors.Is(err, sessionstore.ErrTooLarge) || !strings.Contains(err.Error(), "970 bytes of data sealed to 1001") {
		t.Fatalf("Save of one byte more = %v; want ErrTooLarge with both sizes", err)
	}
	_, err = store.(sessionstore.Swapper).CompareAndSwap(ctx, "id", 0, append(fits, 'b'), hourFromNow())
	if !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Fatalf("CompareAndSwap of one byte more = %v; want ErrTooLarge", err)
	}
	rec, found, err := store.Load(ctx, "id")
	if err != nil || !found || !bytes.Equal(rec.Data, fits) {
		t.Fatal("the record before the failed writes did not stay intact")
	}
}

func TestNew(t *testing.T) {
	keys := mustKeys(t, keyText(t, "1"))
	if _, err := encrypt.New(nil, keys, encrypt.Options{}); err == nil {
		t.Error("New(nil store) did not fail")
	}
	if _, err := encrypt.New(memory.New(memory.Options{}), nil, encrypt.Options{}); err == nil {
		t.Error("New(nil keys) did not fail")
	}
	if _, err := encrypt.New(memory.New(memory.Options{}), &encrypt.Keys{}, encrypt.Options{}); err == nil {
		t.Error("New(empty Keys) did not fail")
	}
}

// TestCapabilitiesKept: the wrapped store has exactly the capabilities of
// the store it wraps (every set is tested in internal/storewrap).
func TestCapabilitiesKept(t *testing.T) {
	keys := mustKeys(t, keyText(t, "1"))
	full := memory.New(memory.Options{})
	defer full.Close()
	bare := struct{ sessionstore.Store }{full} // Load, Save, Delete only
	for _, inner := range []sessionstore.Store{full, bare} {
		s, err := encrypt.New(inner, keys, encrypt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := storewrap.CapabilitiesOf(s), storewrap.CapabilitiesOf(inner); got != want {
			t.Errorf("over %T: capabilities %v, want %v", inner, got, want)
		}
	}
}

func TestParseKeys(t *testing.T) {
	key := func() string { return base64.StdEncoding.EncodeToString(randomBytes(32)) }
	k1, k2 := key(), key()
	short := base64.StdEncoding.EncodeToString(randomBytes(16))
	long := base64.StdEncoding.EncodeToString(randomBytes(33))
	zero := base64.StdEncoding.EncodeToString(make([]byte, 32))

	good := []struct {
		text    string
		primary string
		ids     []string
	}{
		{"1:" + k1, "1", []string{"1"}},
		{"2:" + k2 + ",1:" + k1, "2", []string{"2", "1"}},
		{"\n  2026-11:" + k2 + " ,\n\t2026_05.a:" + k1 + "\n", "2026-11", []string{"2026-11", "2026_05.a"}},
		{"1:" + k1 + ",", "1", []string{"1"}}, // a trailing comma
	}
	for _, c := range good {
		keys, err := encrypt.ParseKeys(c.text)
		if err != nil {
			t.Errorf("ParseKeys(%q): %v", c.text, err)
			continue
		}
		if keys.Primary() != c.primary || strings.Join(keys.IDs(), ",") != strings.Join(c.ids, ",") {
			t.Errorf("ParseKeys(%q) = primary %s ids %v; want %s %v", c.text, keys.Primary(), keys.IDs(), c.primary, c.ids)
		}
	}

	bad := []struct {
		name, text, want string
	}{
		{"empty", "", "no key"},
		{"blank", " \n ", "no key"},
		{"no colon", k1, "no colon"},
		{"empty key", "1:", "0 bytes, want 32"},
		{"not base64", "1:" + strings.Repeat("!", 44), "not standard base64"},
		{"url-safe base64", "1:" + strings.NewReplacer("+", "-", "/", "_").Replace(k1) + "-_", "not standard base64"},
		{"short key", "1:" + short, "16 bytes, want 32"},
		{"long key", "1:" + long, "33 bytes, want 32"},
		{"all zero", "1:" + zero, "all zero"},
		{"duplicate id", "1:" + k1 + ",1:" + k2, "appears twice"},
		{"one key under two ids", "1:" + k1 + ",2:" + k1, "the same key"},
		{"empty id", ":" + k1, "want 1 to 32"},
		{"id too long", strings.Repeat("a", 33) + ":" + k1, "want 1 to 32"},
		{"id with a space", "key 1:" + k1, "only letters"},
		{"key and id swapped", k1 + ":1", "want 1 to 32"},
		{"empty entry", "1:" + k1 + ",,2:" + k2, "entry 2 is empty"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := encrypt.ParseKeys(c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseKeys = %v; want an error saying %q", err, c.want)
			}
			for _, secret := range []string{k1, k2, short, long} {
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:20]) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestNewKeys(t *testing.T) {
	if _, err := encrypt.NewKeys(); err == nil {
		t.Error("NewKeys() did not fail")
	}
	secret := randomBytes(32)
	keys, err := encrypt.NewKeys(encrypt.Key{ID: "kms-1", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	// The ring works from its own copy of the key schedule.
	clear(secret)
	f := newFixture(t, keys)
	f.save(t, "id", "data")
	f.wantData(t, "id", "data")
	if _, err := encrypt.NewKeys(encrypt.Key{ID: "x", Secret: randomBytes(24)}); err == nil {
		t.Error("NewKeys accepted a 24-byte (AES-192) key")
	}
}

func TestKeysPrintNoSecret(t *testing.T) {
	text := keyText(t, "2") + "," + keyText(t, "1")
	keys := mustKeys(t, text)
	secret := strings.Split(strings.Split(text, ",")[0], ":")[1]
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		b.WriteString(fmt.Sprintf(verb, keys) + "\n")
	}
	if strings.Contains(b.String(), secret[:8]) {
		t.Fatalf("printing the ring shows a secret:\n%s", b.String())
	}
	if want := "encrypt.Keys{primary: 2, ids: 2,1}"; !strings.Contains(b.String(), want) {
		t.Fatalf("printed:\n%s\nwant %s", b.String(), want)
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := keyText(t, "x"), keyText(t, "x")
	if a == b || !strings.HasPrefix(a, "x:") || len(a) != 2+44 {
		t.Fatalf("GenerateKey = %q, %q", a, b)
	}
	if _, err := encrypt.GenerateKey("bad id"); err == nil {
		t.Fatal("GenerateKey accepted an invalid id")
	}
}

// TestDocumentedKeyParses keeps the example of ParseKeys's doc valid.
func TestDocumentedKeyParses(t *testing.T) {
	if _, err := encrypt.ParseKeys("2026-11:YW4gZXhhbXBsZSBvbmx5OiBuZXZlciB1c2UgdGhpcyE="); err != nil {
		t.Fatal(err)
	}
}
