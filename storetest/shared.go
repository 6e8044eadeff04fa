package storetest

import (
	"bytes"
	"errors"
	"time"

	"github.com/sessionstore/sessionstore"
)

// sharedChecks follow the docs of sessionstore.Sharer and SwapSharer: the
// shared methods keep every rule of the copying ones, and bytes passed
// through them are never modified by the store, whatever is saved next.
func (s *suite) sharedChecks() []check {
	return []check{
		{name: "LoadShared returns what Save stored, as Load does", run: s.sharedLoad},
		{name: "LoadShared of a missing, deleted or expired id reports not found", clock: true, run: s.sharedLoadGone},
		{name: "empty data saved by SaveShared loads as empty, not missing", run: s.sharedEmpty},
		{name: "SaveShared stores data that Load returns as a copy of its own", run: s.sharedSaveLoad},
		{name: "bytes LoadShared returned are never changed by later saves", run: s.sharedLoadImmutable},
		{name: "bytes handed to SaveShared are never changed by later saves", run: s.sharedSaveImmutable},
		{name: "SaveShared with an expiry in the past leaves the id gone", run: s.sharedSavePast},
		{name: "SaveShared of data over MaxDataSize fails with ErrTooLarge and writes nothing", run: s.sharedTooLarge},
		{name: "CompareAndSwapShared writes over the loaded version only", run: s.sharedSwap},
	}
}

// saveShared saves through the Sharer and stops the subtest if that fails.
func (s *suite) saveShared(t tester, st *store, id string, data []byte, expiry time.Time) {
	t.Helper()
	if err := st.sharer.SaveShared(t.Context(), id, data, expiry); err != nil {
		t.Fatalf("SaveShared(%s, %d bytes) = %v", quote(id), len(data), err)
	}
}

// loadShared loads through the Sharer a record that must be there.
func (s *suite) loadShared(t tester, st *store, id string) sessionstore.Record {
	t.Helper()
	rec, found, err := st.sharer.LoadShared(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("LoadShared(%s) = found %v, %v; want the record saved before", quote(id), found, err)
	}
	return rec
}

func (s *suite) sharedLoad(t tester, st *store) {
	data, expiry := payload("id", 100), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	want := s.mustLoad(t, st, "id")
	got := s.loadShared(t, st, "id")
	if !bytes.Equal(got.Data, data) || !s.sameExpiry(got.Expiry, expiry) || got.Version != want.Version {
		t.Errorf("LoadShared = %s, expiry %v, version %d; want %s, %v, version %d as Load",
			describe(got.Data), got.Expiry, got.Version, describe(data), expiry, want.Version)
	}
}

func (s *suite) sharedLoadGone(t tester, st *store) {
	wantGone := func(id string) {
		t.Helper()
		if rec, found, err := st.sharer.LoadShared(t.Context(), id); err != nil || found {
			t.Errorf("LoadShared(%s) = %s, found %v, %v; want not found, nil", quote(id), describe(rec.Data), found, err)
		}
	}
	wantGone("never-saved")
	s.saveShared(t, st, "deleted", payload("deleted", 10), time.Now().Add(longLife))
	if err := st.Delete(t.Context(), "deleted"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	wantGone("deleted")
	expiry := time.Now().Add(shortLife)
	s.saveShared(t, st, "expiring", payload("expiring", 10), expiry)
	sleepUntil(t, s.goneAt(expiry))
	wantGone("expiring")
}

func (s *suite) sharedEmpty(t tester, st *store) {
	s.saveShared(t, st, "id", []byte{}, time.Now().Add(longLife))
	if rec := s.loadShared(t, st, "id"); rec.Data == nil || len(rec.Data) != 0 {
		t.Errorf("LoadShared.Data = %#v; want empty, not nil", rec.Data)
	}
	if rec := s.mustLoad(t, st, "id"); rec.Data == nil || len(rec.Data) != 0 {
		t.Errorf("Load.Data = %#v; want empty, not nil", rec.Data)
	}
}

func (s *suite) sharedSaveLoad(t tester, st *store) {
	data, expiry := payload("id", 100), time.Now().Add(longLife)
	s.saveShared(t, st, "id", bytes.Clone(data), expiry)
	rec := s.mustLoad(t, st, "id")
	if !bytes.Equal(rec.Data, data) {
		t.Fatalf("Load after SaveShared = %s; want %s", describe(rec.Data), describe(data))
	}
	// Load's Data is the caller's, whatever stored it.
	for i := range rec.Data {
		rec.Data[i] ^= 0xff
	}
	s.wantRecord(t, st, "id", data, expiry)
	if got := s.loadShared(t, st, "id"); !bytes.Equal(got.Data, data) {
		t.Errorf("LoadShared after changing Load's copy = %s; want %s", describe(got.Data), describe(data))
	}
}

func (s *suite) sharedLoadImmutable(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	for _, first := range []string{"Save", "SaveShared"} {
		data := payload(first, 100)
		if first == "Save" {
			s.save(t, st, "id", data, expiry)
		} else {
			s.saveShared(t, st, "id", bytes.Clone(data), expiry)
		}
		held := s.loadShared(t, st, "id").Data
		// Overwrite with data of the same length, every way there is: a
		// store that writes in place would change held.
		s.save(t, st, "id", payload("other", 100), expiry)
		s.saveShared(t, st, "id", payload("third", 100), expiry)
		if st.swapper != nil {
			v := s.version(t, st, "id")
			s.cas(t, st, "id", v, payload("fourth", 100), expiry)
		}
		if err := st.Delete(t.Context(), "id"); err != nil {
			t.Fatalf("Delete = %v", err)
		}
		if !bytes.Equal(held, data) {
			t.Errorf("bytes LoadShared returned after %s changed to %s by later saves; want %s kept",
				first, describe(held), describe(data))
		}
	}
}

func (s *suite) sharedSaveImmutable(t tester, st *store) {
	expiry := time.Now().Add(longLife)
	data := payload("id", 100)
	given := bytes.Clone(data)
	s.saveShared(t, st, "id", given, expiry)
	s.save(t, st, "id", payload("other", 100), expiry)
	if st.swapper != nil {
		v := s.version(t, st, "id")
		s.cas(t, st, "id", v, payload("third", 100), expiry)
	}
	if !bytes.Equal(given, data) {
		t.Errorf("bytes handed to SaveShared changed to %s by later saves; want %s kept", describe(given), describe(data))
	}
}

func (s *suite) sharedSavePast(t tester, st *store) {
	s.saveShared(t, st, "id", payload("id", 10), time.Now().Add(longLife))
	s.saveShared(t, st, "id", payload("id", 10), time.Now().Add(-time.Hour))
	s.wantGone(t, st, "id")
}

func (s *suite) sharedTooLarge(t tester, st *store) {
	if s.h.MaxDataSize == 0 {
		t.Skipf("Harness.MaxDataSize is 0: the store has no maximum")
	}
	data, expiry := payload("id", 10), time.Now().Add(longLife)
	s.save(t, st, "id", data, expiry)
	err := st.sharer.SaveShared(t.Context(), "id", payload("big", s.h.MaxDataSize+1), expiry)
	if !errors.Is(err, sessionstore.ErrTooLarge) {
		t.Errorf("SaveShared of %d bytes = %v; want an error wrapping ErrTooLarge", s.h.MaxDataSize+1, err)
	}
	s.wantRecord(t, st, "id", data, expiry)
}

func (s *suite) sharedSwap(t tester, st *store) {
	if st.swapSharer == nil {
		t.Skipf("the store does not implement sessionstore.SwapSharer")
	}
	ctx, expiry := t.Context(), time.Now().Add(longLife)
	swap := func(version uint64, data []byte) bool {
		t.Helper()
		ok, err := st.swapSharer.CompareAndSwapShared(ctx, "id", version, data, expiry)
		if err != nil {
			t.Fatalf("CompareAndSwapShared(version %d) = %v", version, err)
		}
		return ok
	}
	if !swap(0, payload("first", 50)) {
		t.Fatalf("CompareAndSwapShared(version 0) of a new id = false; want true")
	}
	if swap(0, payload("again", 50)) {
		t.Errorf("CompareAndSwapShared(version 0) over a live record = true; want false")
	}
	v := s.loadShared(t, st, "id").Version
	if v == 0 {
		t.Fatalf("LoadShared.Version = 0; want non-zero from a sessionstore.SwapSharer")
	}
	if !swap(v, payload("second", 50)) {
		t.Fatalf("CompareAndSwapShared over the loaded version = false; want true")
	}
	if swap(v, payload("stale", 50)) {
		t.Errorf("CompareAndSwapShared over a stale version = true; want false")
	}
	s.wantRecord(t, st, "id", payload("second", 50), expiry)
}
