package storetest

import (
	"bytes"
	"fmt"
	"time"
)

// Two handles on the same data (Harness.OpenAgain): what two processes, or
// one program before and after a restart, see. The random sequences run
// over two handles too; these are the examples that read best.
func (s *suite) handleChecks() []check {
	checks := []check{
		{name: "a record saved through one handle is loaded through the other, with the same version", run: s.handlesLoad},
		{name: "a record deleted through one handle is gone through the other", run: s.handlesDelete},
	}
	if s.probe.swapper != nil {
		checks = append(checks,
			check{name: "a version loaded through one handle swaps through the other, once", run: s.handlesSwap},
			check{name: "versions issued through two handles are never the same", run: s.handlesVersions})
	}
	if s.probe.countable() {
		checks = append(checks, check{name: "Iterate and Count through one handle see the records written through the other", run: s.handlesCount})
	}
	checks = append(checks, check{name: "after a restart the records are there and new versions are new", run: s.handlesRestart})
	return checks
}

// other opens a second handle on st's data, or skips.
func (s *suite) other(t tester, st *store) *store {
	t.Helper()
	if s.h.OpenAgain == nil {
		t.Skipf("Harness.OpenAgain is nil")
	}
	o := s.openAgain(t, st)
	if o == nil {
		t.Fatalf("Harness.OpenAgain returned nil for an open store")
	}
	return o
}

func (s *suite) handlesLoad(t tester, a *store) {
	b := s.other(t, a)
	data, expiry := payload("a", 40), time.Now().Add(longLife)
	s.save(t, a, "id", data, expiry)
	s.wantRecord(t, b, "id", data, expiry)
	if ra, rb := s.mustLoad(t, a, "id"), s.mustLoad(t, b, "id"); ra.Version != rb.Version {
		t.Errorf("the two handles load versions %d and %d of one record; want the same", ra.Version, rb.Version)
	}
	data = payload("b", 30)
	s.save(t, b, "id", data, expiry)
	s.wantRecord(t, a, "id", data, expiry)
}

func (s *suite) handlesDelete(t tester, a *store) {
	b := s.other(t, a)
	s.save(t, a, "id", payload("a", 40), time.Now().Add(longLife))
	s.mustLoad(t, b, "id")
	if err := b.Delete(t.Context(), "id"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.wantGone(t, a, "id")
	s.wantGone(t, b, "id")
}

func (s *suite) handlesSwap(t tester, a *store) {
	b := s.other(t, a)
	s.save(t, a, "id", payload("a", 40), time.Now().Add(longLife))
	v := s.version(t, a, "id")
	data, expiry := payload("b", 40), time.Now().Add(longLife)
	if !s.cas(t, b, "id", v, data, expiry) {
		t.Fatalf("CompareAndSwap through the other handle over the version loaded through the first = false; want true")
	}
	if s.cas(t, a, "id", v, payload("lost", 40), expiry) {
		t.Errorf("CompareAndSwap over a version already swapped through the other handle = true; want false")
	}
	s.wantRecord(t, a, "id", data, expiry)
	if !s.cas(t, a, "new", 0, data, expiry) {
		t.Errorf("CompareAndSwap with version 0 of a new id = false; want true")
	}
	if s.cas(t, b, "new", 0, data, expiry) {
		t.Errorf("CompareAndSwap with version 0 through the other handle, over the record just swapped in = true; want false")
	}
}

// handlesVersions writes through both handles in turn and checks that no
// version comes back: a store counting versions per handle fails here.
func (s *suite) handlesVersions(t tester, a *store) {
	b := s.other(t, a)
	seen := map[uint64]string{}
	expiry := time.Now().Add(longLife)
	for i := range 6 {
		h, id := a, fmt.Sprint("id ", i)
		if i%2 == 1 {
			h = b
		}
		s.save(t, h, id, payload(id, 10), expiry)
		v := s.version(t, a, id)
		if other, dup := seen[v]; dup {
			t.Fatalf("Load(%q).Version = %d, the version of %q: two handles on the same data issued one version twice", id, v, other)
		}
		seen[v] = id
		if i > 0 && s.cas(t, b, id, s.version(t, b, fmt.Sprint("id ", i-1)), payload("lost", 10), expiry) {
			t.Fatalf("CompareAndSwap(%q) over the version of another id = true; want false", id)
		}
	}
}

func (s *suite) handlesCount(t tester, a *store) {
	b := s.other(t, a)
	expiry := time.Now().Add(longLife)
	want := map[string][]byte{}
	for i := range 3 {
		id := fmt.Sprint("id ", i)
		s.save(t, a, id, payload(id, 10), expiry)
		want[id] = payload(id, 10)
	}
	if a.swapper != nil {
		if !s.cas(t, a, "swapped", 0, nil, expiry) {
			t.Fatalf("CompareAndSwap with version 0 of a new id = false; want true")
		}
		want["swapped"] = []byte{}
	}
	s.wantCount(t, b, len(want))
	if b.iterator != nil {
		s.wantVisits(t, b, want)
	}
}

// handlesRestart closes a store and opens its data again: records,
// expiries and versions are kept, and the versions issued after the
// restart are new ones.
func (s *suite) handlesRestart(t tester, a *store) {
	if s.h.OpenAgain == nil {
		t.Skipf("Harness.OpenAgain is nil")
	}
	if !s.restartable {
		t.Skipf("the store's data does not outlive Close (Harness.OpenAgain returns nil for a closed store)")
	}
	data, expiry := payload("kept", 40), time.Now().Add(longLife)
	s.save(t, a, "kept", data, expiry)
	s.save(t, a, "recreated", data, expiry)
	before := map[string]uint64{}
	if a.swapper != nil {
		before["kept"], before["recreated"] = s.version(t, a, "kept"), s.version(t, a, "recreated")
	}
	if a.closer != nil {
		if err := a.closer.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	b := s.openAgain(t, a)
	if b == nil {
		t.Fatalf("Harness.OpenAgain returned nil after Close")
	}
	s.wantRecord(t, b, "kept", data, expiry)
	if b.swapper == nil {
		return
	}
	if v := s.version(t, b, "kept"); v != before["kept"] {
		t.Errorf("Version after a restart = %d; want %d, as before", v, before["kept"])
	}
	if err := b.Delete(t.Context(), "recreated"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	s.save(t, b, "recreated", data, expiry)
	for id, v := range before {
		if s.cas(t, b, "recreated", v, payload("lost", 10), expiry) {
			t.Errorf("CompareAndSwap(\"recreated\") after a restart over the version %d, of %q before it = true; want false", v, id)
		}
	}
	s.wantRecord(t, b, "recreated", data, expiry)
}

// wantThrough checks, through other (a second handle), that the calls a
// closed store answered nil did their work: live holds what must be there,
// gone what must not.
func (s *suite) wantThrough(t tester, other *store, live map[string][]byte, gone []string) {
	t.Helper()
	for id, data := range live {
		rec, found, err := other.Load(t.Context(), id)
		if err == nil && (!found || !bytes.Equal(rec.Data, data)) {
			t.Errorf("Load(%q) through another handle = %s, found %v; want %s: a call on the closed store answered nil without doing its work",
				id, describe(rec.Data), found, describe(data))
		}
	}
	for _, id := range gone {
		if _, found, err := other.Load(t.Context(), id); err == nil && found {
			t.Errorf("Load(%q) through another handle found the record; want it deleted: Delete on the closed store answered nil without doing its work", id)
		}
	}
}
