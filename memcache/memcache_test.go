package memcache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/memcachetest"
	"github.com/sessionstore/sessionstore/memcache"
)

func TestNewRejectsBadArguments(t *testing.T) {
	client := gomemcache.New(testservers.ClosedAddr(t))
	for name, tc := range map[string]struct {
		client *gomemcache.Client
		opts   memcache.Options
	}{
		"nil client":           {nil, memcache.Options{}},
		"negative MaxDataSize": {client, memcache.Options{MaxDataSize: -1}},
		"prefix too long":      {client, memcache.Options{Prefix: strings.Repeat("p", memcache.MaxPrefixLength+1)}},
		"prefix with a space":  {client, memcache.Options{Prefix: "my app:"}},
		"prefix with a NUL":    {client, memcache.Options{Prefix: "app\x00"}},
		"prefix with UTF-8":    {client, memcache.Options{Prefix: "séance:"}},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := memcache.New(tc.client, tc.opts); err == nil || s != nil {
				t.Errorf("New = %v, %v; want nil and an error", s, err)
			} else if !strings.HasPrefix(err.Error(), "memcache: new: ") {
				t.Errorf("error %q does not name the store and operation", err)
			}
		})
	}
	if _, err := memcache.New(client, memcache.Options{Prefix: strings.Repeat("p", memcache.MaxPrefixLength)}); err != nil {
		t.Errorf("New with a prefix of MaxPrefixLength bytes: %v", err)
	}
}

// hashedKey is the documented key of an id that is not stored as itself.
func hashedKey(prefix, id string) string {
	sum := sha256.Sum256([]byte(id))
	return prefix + "~" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestKeys(t *testing.T) {
	const prefix = "app:"
	s, err := memcache.New(gomemcache.New(testservers.ClosedAddr(t)), memcache.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("k", 250-len(prefix))
	for _, tc := range []struct {
		label, id string
		plain     bool
	}{
		{"base64url id", "Zm9vYmFyLWJhei1xdXV4_-0123456789abcdefghijkl", true},
		{"punctuation", `a:b/c.d!"#$%&'()*+,;<=>?@[\]^_{|}`, true},
		{"the longest that fits", long, true},
		{"one byte too long", long + "k", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"CR LF", "a\r\nb", false},
		{"DEL", "a\x7f", false},
		{"NUL", "a\x00", false},
		{"UTF-8", "séance", false},
		{"the hash marker", "~", false},
		{"a hashed key's suffix", strings.TrimPrefix(hashedKey(prefix, "a b"), prefix), false},
		{"a tilde inside", "a~b", true},
	} {
		t.Run(tc.label, func(t *testing.T) {
			want := prefix + tc.id
			if !tc.plain {
				want = hashedKey(prefix, tc.id)
			}
			got := s.Key(tc.id)
			if got != want {
				t.Errorf("Key(%q) = %q; want %q", tc.id, got, want)
			}
			if !legalKey(got) {
				t.Errorf("Key(%q) = %q is no valid memcached key", tc.id, got)
			}
		})
	}
}

// TestKeysNeverCollide maps ids that are plain, hashed, or the hashed key of
// another id written out as an id, and checks that no two share a key.
func TestKeysNeverCollide(t *testing.T) {
	prefix := strings.Repeat("p", memcache.MaxPrefixLength)
	s, err := memcache.New(gomemcache.New(testservers.ClosedAddr(t)), memcache.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 256 {
		ids = append(ids, string(rune(i)), string([]byte{byte(i)}), fmt.Sprintf("id-%d", i), fmt.Sprintf("id %d", i))
		ids = append(ids, strings.Repeat("x", i+1))
	}
	var suffixes []string // each key's part after the prefix, given as an id
	for _, id := range ids {
		suffixes = append(suffixes, strings.TrimPrefix(s.Key(id), prefix))
	}
	ids = append(ids, suffixes...)
	owner := map[string]string{}
	for _, id := range ids {
		if len(id) > sessionstore.MaxIDLength {
			continue
		}
		key := s.Key(id)
		if !legalKey(key) {
			t.Errorf("Key(%q) = %q is no valid memcached key", id, key)
		}
		if other, ok := owner[key]; ok && other != id {
			t.Errorf("ids %q and %q share the key %q", other, id, key)
		}
		owner[key] = id
	}
}

// legalKey is gomemcache's own test of a key.
func legalKey(key string) bool {
	if len(key) > 250 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

func TestServerExpiry(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 250_000_000, time.UTC)
	const day = 24 * time.Hour
	unixUp := func(d time.Duration) int32 { // now+d in Unix seconds, rounded up, plus one
		ms := now.Add(d).UnixMilli()
		return int32((ms+999)/1000 + 1)
	}
	for _, tc := range []struct {
		label string
		in    time.Duration
		want  int32
		live  bool
	}{
		{"in the past", -time.Second, 0, false},
		{"now", 0, 0, false},
		{"under a millisecond ahead", 999 * time.Microsecond, 0, false},
		{"1 ms ahead", time.Millisecond, 2, true},
		{"300 ms ahead", 300 * time.Millisecond, 2, true},
		{"1 s ahead", time.Second, 2, true},
		{"1.001 s ahead", 1001 * time.Millisecond, 3, true},
		{"2 s ahead", 2 * time.Second, 3, true},
		{"an hour ahead", time.Hour, 3601, true},
		{"30 days less 1 s: the longest relative", 30*day - time.Second, 30 * 86400, true},
		{"30 days: absolute", 30 * day, unixUp(30 * day), true},
		{"31 days", 31 * day, unixUp(31 * day), true},
		{"60 days", 60 * day, unixUp(60 * day), true},
		{"past 2038: no expiration", 20 * 365 * day, 0, true},
	} {
		t.Run(tc.label, func(t *testing.T) {
			got, live := memcache.ServerExpiry(now.Add(tc.in), now)
			if got != tc.want || live != tc.live {
				t.Errorf("serverExpiry(now+%v) = %d, %v; want %d, %v", tc.in, got, live, tc.want, tc.live)
			}
		})
	}
	// A relative expiration must never exceed 30 days: memcached would
	// read it as a Unix time in 1970 and drop the item at once.
	for d := 30*day - 3*time.Second; d < 30*day+3*time.Second; d += 250 * time.Millisecond {
		if got, _ := memcache.ServerExpiry(now.Add(d), now); got > 30*86400 && got < 1_000_000_000 {
			t.Errorf("serverExpiry(now+%v) = %d: neither relative nor a Unix time", d, got)
		}
	}
}

// sleepUntil waits for the clock: expiry tests cannot do otherwise.
func sleepUntil(t *testing.T, when time.Time) {
	t.Helper()
	timer := time.NewTimer(time.Until(when))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.Context().Done():
		t.Fatal("test ended while waiting for the clock")
	}
}

// TestServerNeverDropsEarly saves records to live 500 ms at ten points of
// memcached's 1-second clock and checks, with the raw client, that the
// server still holds each just before its expiry and has dropped it within
// two seconds after: an expiration rounded up without the extra second would
// lose some of them up to a second early.
func TestServerNeverDropsEarly(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	s := newStore(t, client, memcache.Options{})
	const life, points = 500 * time.Millisecond, 10
	start := time.Now()
	var wg sync.WaitGroup
	for i := range points {
		wg.Go(func() {
			at := start.Add(time.Duration(i) * time.Second / points)
			time.Sleep(time.Until(at))
			id := fmt.Sprint("phase-", i)
			expiry := time.Now().Add(life)
			if err := s.Save(t.Context(), id, []byte("data"), expiry); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Until(expiry.Add(-50 * time.Millisecond)))
			_, err := client.Get(s.Key(id))
			switch {
			case time.Now().After(expiry):
				t.Logf("%s: checked too late to tell", id)
			case err != nil:
				t.Errorf("%s, saved %v into the test: memcached dropped the item before its expiry: %v",
					id, expiry.Add(-life).Sub(start), err)
			}
			time.Sleep(time.Until(expiry.Add(2 * time.Second)))
			if _, err := client.Get(s.Key(id)); !errors.Is(err, gomemcache.ErrCacheMiss) {
				t.Errorf("%s: memcached still holds the item 2 s after its expiry (%v)", id, err)
			}
		})
	}
	wg.Wait()
}

// TestLoadEndsAtHeaderExpiry checks that Load ends a record at its expiry
// while memcached still holds the item.
func TestLoadEndsAtHeaderExpiry(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	s := newStore(t, client, memcache.Options{})
	expiry := time.Now().Add(300 * time.Millisecond)
	if err := s.Save(t.Context(), "id", []byte("data"), expiry); err != nil {
		t.Fatal(err)
	}
	sleepUntil(t, expiry.Add(10*time.Millisecond))
	if _, err := client.Get(s.Key("id")); err != nil {
		t.Fatalf("memcached no longer holds the item 10 ms after its expiry (%v): the test proves nothing", err)
	}
	if rec, found, err := s.Load(t.Context(), "id"); found || err != nil {
		t.Errorf("Load after the expiry = %q, %v, %v; want not found", rec.Data, found, err)
	}
}

// TestSixtyDays saves a record to live 60 days, sent to memcached as a Unix
// time, and checks that both the store and the server keep it.
func TestSixtyDays(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	s := newStore(t, client, memcache.Options{})
	expiry := time.Now().Add(60 * 24 * time.Hour)
	if err := s.Save(t.Context(), "id", []byte("data"), expiry); err != nil {
		t.Fatal(err)
	}
	rec, found, err := s.Load(t.Context(), "id")
	if err != nil || !found || string(rec.Data) != "data" || !rec.Expiry.Equal(expiry.Truncate(time.Millisecond)) {
		t.Errorf("Load = %+v, %v, %v; want the record, expiring at %v", rec, found, err, expiry)
	}
	// A relative 60 days would have been read as a date in 1970: gone.
	if _, err := client.Get(s.Key("id")); err != nil {
		t.Errorf("memcached does not hold the item: %v", err)
	}
	t.Cleanup(func() { client.Delete(s.Key("id")) })
}

// TestMappedIDs stores ids that memcached cannot take as keys next to the
// plain ids their mapping could be confused with, on a real server.
func TestMappedIDs(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	prefix := newPrefix(t)
	s := newStore(t, client, memcache.Options{Prefix: prefix})
	mapped := "a b\r\n"
	ids := []string{
		mapped,
		strings.TrimPrefix(hashedKey(prefix, mapped), prefix), // the mapped key, as an id
		strings.Repeat("k", 256),
		strings.Repeat("k", 250-len(prefix)),
	}
	expiry := time.Now().Add(time.Hour)
	for _, id := range ids {
		if err := s.Save(t.Context(), id, []byte(id), expiry); err != nil {
			t.Fatalf("Save(%q): %v", id, err)
		}
	}
	for _, id := range ids {
		rec, found, err := s.Load(t.Context(), id)
		if err != nil || !found || string(rec.Data) != id {
			t.Errorf("Load(%q) = %q, %v, %v; want its own data", id, rec.Data, found, err)
		}
	}
}

// TestForeignItem checks that an item under the prefix that this store did
// not write fails Load with an error, without a panic or a false "found".
func TestForeignItem(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.New(t)
	s := newStore(t, client, memcache.Options{})
	for name, item := range map[string]*gomemcache.Item{
		"short": {Key: s.Key("short"), Value: []byte("abc"), Expiration: 60},
		"flags": {Key: s.Key("flags"), Value: bytes.Repeat([]byte{0xff}, 20), Flags: 7, Expiration: 60},
	} {
		if err := client.Set(item); err != nil {
			t.Fatal(err)
		}
		_, found, err := s.Load(t.Context(), name)
		if err == nil || found || !strings.HasPrefix(err.Error(), "memcache: load: ") {
			t.Errorf("Load of a foreign %s item = %v, %v; want not found and a load error", name, found, err)
		}
	}
}

// hangingServer accepts connections and never answers. It reports on the
// returned channels each connection it accepts and each that a client closes.
func hangingServer(t *testing.T) (addr string, accepted, closed <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	acc, cl := make(chan struct{}, 16), make(chan struct{}, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			acc <- struct{}{}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c) // until the client closes it
				cl <- struct{}{}
			}()
		}
	}()
	return l.Addr().String(), acc, cl
}

// TestContextEndsCall checks that a context ends a call the server never
// answers long before the client's timeout, and that Close waits for the
// client call left behind, so that no goroutine outlives it.
func TestContextEndsCall(t *testing.T) {
	t.Parallel()
	addr, _, closed := hangingServer(t)
	client := gomemcache.New(addr)
	client.Timeout = 800 * time.Millisecond
	s := newStore(t, client, memcache.Options{})

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, found, err := s.Load(ctx, "id")
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("Load took %v under a 50 ms deadline", elapsed)
	}
	if found || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "memcache: load: ") {
		t.Errorf("Load = %v, %v; want not found and a load error wrapping context.DeadlineExceeded", found, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < client.Timeout-100*time.Millisecond {
		t.Errorf("Close returned %v after the call began; want after the client's %v timeout", waited, client.Timeout)
	}
	select {
	case <-closed: // the client gave up on its connection before Close returned
	case <-time.After(time.Second):
		t.Error("the client call was still connected after Close")
	}
	if _, _, err := s.Load(t.Context(), "id"); !errors.Is(err, sessionstore.ErrClosed) {
		t.Errorf("Load after Close = %v; want ErrClosed", err)
	}
}

// TestCancelledContextSendsNothing checks that a call under an ended context
// fails at once, without a connection.
func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	addr, accepted, _ := hangingServer(t)
	s := newStore(t, gomemcache.New(addr), memcache.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Save(ctx, "id", []byte("data"), time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("Save = %v; want an error wrapping context.Canceled", err)
	}
	// A connection would be accepted within the 50 ms a Save under a live
	// context takes to time out here.
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := s.Save(ctx, "id", []byte("data"), time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Save to a server that never answers succeeded")
	}
	if n := len(accepted); n != 1 {
		t.Errorf("%d connections; want 1, from the second Save only", n)
	}
}

// TestVersionsDifferAcrossServers checks that a version read from one
// session never matches another's record when the sessions live on
// different servers. memcached counts CAS ids per server, so three fresh
// servers hand out the same CAS ids to the first sessions each holds: a
// Store that used CAS ids as versions fails here at once.
func TestVersionsDifferAcrossServers(t *testing.T) {
	t.Parallel()
	client, _ := memcachetest.NewCluster(t, testservers.Dedicated())
	s := newStore(t, client, memcache.Options{})
	ctx := t.Context()
	expiry := time.Now().Add(time.Hour)
	const n = 30
	versions := make(map[uint64]string, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%d", i)
		if err := s.Save(ctx, ids[i], []byte(ids[i]), expiry); err != nil {
			t.Fatalf("Save(%q): %v", ids[i], err)
		}
		rec, found, err := s.Load(ctx, ids[i])
		if err != nil || !found {
			t.Fatalf("Load(%q) = %v, %v; want the record just saved", ids[i], found, err)
		}
		if other, ok := versions[rec.Version]; ok {
			t.Errorf("Load(%q).Version = %d, the version of %q too", ids[i], rec.Version, other)
		}
		versions[rec.Version] = ids[i]
	}
	for v, owner := range versions {
		for _, id := range ids {
			if id == owner {
				continue
			}
			swapped, err := s.CompareAndSwap(ctx, id, v, []byte("overwritten"), expiry)
			if swapped || err != nil {
				t.Fatalf("CompareAndSwap(%q) with the version of %q = %v, %v; want false, nil", id, owner, swapped, err)
			}
		}
	}
}
