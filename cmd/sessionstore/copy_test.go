package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCopy copies between pairs of different backends that cover every
// backend as a source that can be walked and every backend as a
// destination: every record arrives with its data and expiry exactly, a
// second run changes nothing, and memcached as a source gets a clear error.
func TestCopy(t *testing.T) {
	bs := map[string]backend{}
	for _, b := range backends() {
		bs[b.name] = b
	}
	for _, pair := range [][2]string{
		{"redis", "postgres"},
		{"postgres", "mongodb"},
		{"mongodb", "redis"},
		{"redis", "memcache"},
		{"redis-cluster", "mongodb"},
		{"postgres", "mysql"},
		{"mysql", "redis"},
		{"sqlite", "postgres"},
		{"redis", "sqlite"},
	} {
		t.Run(pair[0]+" to "+pair[1], func(t *testing.T) {
			t.Parallel()
			fromURL, toURL := bs[pair[0]].url(t), bs[pair[1]].url(t)
			from, to := openStore(t, fromURL), openStore(t, toURL)
			type rec struct {
				data   []byte
				expiry time.Time
			}
			want := map[string]rec{}
			allBytes := make([]byte, 256)
			for i := range allBytes {
				allBytes[i] = byte(i)
			}
			// Milliseconds: the finest expiry every backend keeps.
			base := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			for i := range 50 {
				data := fmt.Appendf(nil, "session %d ", i)
				switch i % 3 {
				case 0:
					data = append(data, allBytes...)
				case 1:
					data = bytes.Repeat(data, 1000)
				}
				want[fmt.Sprintf("key-%02d", i)] = rec{data, base.Add(time.Duration(i) * 1537 * time.Millisecond)}
			}
			want["empty"] = rec{[]byte{}, base}
			for k, r := range want {
				if err := from.Save(t.Context(), k, r.data, r.expiry); err != nil {
					t.Fatal(err)
				}
			}
			// An expired record stays behind.
			if err := from.Save(t.Context(), "expired", []byte("x"), time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}

			r := sessionstoreCmd(t, "copy", fromURL, toURL).want(t, exitOK)
			if wantOut := fmt.Sprintf("copied %d records from ", len(want)); !strings.HasPrefix(r.stdout, wantOut) {
				t.Errorf("copy printed %q; want it to start with %q", r.stdout, wantOut)
			}
			for k, w := range want {
				got, found, err := to.Load(t.Context(), k)
				switch {
				case err != nil || !found:
					t.Errorf("Load(%s) from the destination = %v, %v", k, found, err)
				case !bytes.Equal(got.Data, w.data):
					t.Errorf("%s: data %d bytes, want %d bytes as saved", k, len(got.Data), len(w.data))
				case !got.Expiry.Equal(w.expiry):
					t.Errorf("%s: expiry %v, want %v exactly", k, got.Expiry, w.expiry)
				}
			}
			if _, found, _ := to.Load(t.Context(), "expired"); found {
				t.Errorf("the expired record was copied")
			}

			// Safe to re-run: a newer record in the destination is kept.
			if err := to.Save(t.Context(), "key-00", []byte("newer"), base); err != nil {
				t.Fatal(err)
			}
			r = sessionstoreCmd(t, "copy", fromURL, toURL).want(t, exitOK)
			if !strings.Contains(r.stdout, fmt.Sprintf("copied 0 records from %s to %s; %d already there, kept", from.Shown, to.Shown, len(want))) {
				t.Errorf("second copy printed %q", r.stdout)
			}
			if got, _, _ := to.Load(t.Context(), "key-00"); string(got.Data) != "newer" {
				t.Errorf("the second copy overwrote a newer record with %d bytes", len(got.Data))
			}
		})
	}

	t.Run("from memcache", func(t *testing.T) {
		t.Parallel()
		r := sessionstoreCmd(t, "copy", bs["memcache"].url(t), "sqlite:"+filepath.Join(t.TempDir(), "to.db")).want(t, exitFailed)
		if !strings.Contains(r.stderr, "memcache cannot list its keys, so copy cannot read it") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("copy from memcache printed %q", r.stderr)
		}
	})
}
