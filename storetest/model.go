package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/sessionstore/sessionstore"
)

// The model of the contract: what a correct store holds after each call and
// what each call must answer, written as plainly as store.go says it. The
// random sequences (sequences.go) and the concurrent histories
// (linearizable.go) are checked against it.
//
// Expiry is real time, so the model never asserts an instant: a record is
// live for a call that ended comfortably (clockSlack) before its expiry,
// gone for a call that started comfortably (the store's precision plus
// clockSlack) after it, and either in between. When the store's answer
// settles which (a Load found it, a Touch did not), the model takes that
// answer and holds the store to it from then on: a record seen gone never
// comes back.

// The sentences of store.go the model checks, quoted in its failures.
const (
	sentLoadGone     = "Store.Load: a missing, deleted or expired id reports found == false with a nil error"
	sentNeverEarly   = "Store: a record is never gone before its expiry, and never returned after it, within the store's documented precision"
	sentSave         = "Store.Save inserts or overwrites the data and expiry of id in one step; an expiry at or before now leaves id gone afterwards"
	sentSaveTooLarge = "Store.Save: data larger than the store's documented maximum fails with an error wrapping ErrTooLarge and the previous record stays intact"
	sentData         = "Record.Data is opaque: any byte value, including empty, round-trips"
	sentIDs          = "Store: two different ids never share a record, whatever a naive escaping, truncation or normalisation would make of them"
	sentExpiry       = "Record.Expiry: Load reports the expiry of the last Save, CompareAndSwap or Touch, within the precision the store documents"
	sentMaxExpiry    = "MaxExpiry: an expiry at or after it keeps the record live; Load reports it no earlier than MaxExpiry truncated to the store's precision"
	sentVersion      = "Record.Version changes with every Save and successful CompareAndSwap; a store never gives an id a version it gave that id before, and a version read from one id does not match the record of another, across every Store value on the same data and across restarts"
	sentVersionZero  = "Record.Version is non-zero on every record loaded from a store that implements Swapper, and zero otherwise"
	sentDelete       = "Store.Delete removes id; deleting a missing id is not an error"
	sentTouch        = "Toucher.Touch sets the expiry of a live record and reports whether it existed; a missing or expired id reports false with a nil error and creates nothing; a live record reports true even when an expiry at or before now leaves id gone afterwards"
	sentSwapZero     = "Swapper.CompareAndSwap: version 0 means \"only if no live record exists\"; a conditional delete with version 0 of an id with no live record wins and reports true"
	sentSwap         = "Swapper.CompareAndSwap saves only if the live record still has the given version; any other version (older, newer, of an expired or deleted record, of another id) writes nothing and reports false with a nil error"
	sentSwapTooLarge = "Swapper.CompareAndSwap checks size before anything is sent: data over the maximum fails with ErrTooLarge and writes nothing, whether or not the swap would have won"
	sentSwapDelete   = "Swapper.CompareAndSwap: an expiry at or before now leaves id gone afterwards when the swap wins"
	sentIterate      = "Iterator.Iterate calls fn once for each live record, whole as Load would return it, with its id exactly as given to the Save or CompareAndSwap that wrote it; no expired record is visited"
	sentCount        = "Counter.Count returns the number of live records, those with empty data included: the number of records Iterate would visit"
	sentLoadOwned    = "Store.Load: the returned Data is the caller's: the store does not keep or reuse it"
	sentSaveOwned    = "Store.Save: the store does not keep data, of any size: the caller may reuse the slice once Save returns"
)

// modelRecord is what a correct store holds under one id.
type modelRecord struct {
	data []byte
	// expiry is the one last written; saved is that of the last Save or
	// CompareAndSwap, which a store that cannot read back a touched expiry
	// (memcached) reports instead.
	expiry, saved time.Time
	// version is the record's version once a Load showed it, 0 until then
	// (the store issued a new one the model has not seen).
	version uint64
	// touched is set by a Touch after the version was seen: Touch may or
	// may not change it.
	touched bool
	// writer names the call that wrote the record, for failure messages.
	writer string
}

// liveness is what the model knows of a record at the time of a call.
type liveness int

const (
	gone liveness = iota
	live
	either // too close to its expiry to tell
)

func (l liveness) String() string {
	return [...]string{"gone", "live", "live or gone"}[l]
}

// model is the contract's state of one store: the live records by id.
type model struct {
	precision time.Duration
	versioned bool
	maxSize   int
	recs      map[string]*modelRecord
	// seen maps every version the store showed to the id it belonged to.
	seen map[uint64]string
}

func newModel(h Harness, versioned bool, maxSize int) *model {
	return &model{precision: h.ExpiryPrecision, versioned: versioned, maxSize: maxSize,
		recs: map[string]*modelRecord{}, seen: map[uint64]string{}}
}

// status is the liveness of r for a call that ran from start to end.
func (m *model) status(r *modelRecord, start, end time.Time) liveness {
	switch {
	case r == nil:
		return gone
	case end.Before(r.expiry.Add(-clockSlack)):
		return live
	case start.After(r.expiry.Add(m.precision + clockSlack)):
		return gone
	}
	return either
}

// write records a successful write of id that started at start.
func (m *model) write(id string, data []byte, expiry, start time.Time, writer string) {
	if !start.Before(expiry) {
		delete(m.recs, id)
		return
	}
	m.recs[id] = &modelRecord{data: bytes.Clone(data), expiry: expiry, saved: expiry, writer: writer}
}

// expiryFloor is the earliest expiry a store may report for one at or after
// MaxExpiry.
func (m *model) expiryFloor() time.Time {
	return sessionstore.MaxExpiry.Truncate(max(m.precision, time.Millisecond))
}

// expiryOK reports whether got is an acceptable report of the expiry want.
func (m *model) expiryOK(got, want time.Time) bool {
	if !want.Before(sessionstore.MaxExpiry) {
		return !got.Before(m.expiryFloor())
	}
	return got.Sub(want).Abs() <= max(m.precision, time.Millisecond)
}

// observe checks a record the store returned for id (from Load or Iterate)
// against r, and learns its version. It returns what is wrong, or "".
func (m *model) observe(id string, r *modelRecord, got sessionstore.Record) (problem, sentence string) {
	if !bytes.Equal(got.Data, r.data) {
		if other := m.writtenUnder(got.Data, id); other != "" {
			return fmt.Sprintf("Data = %s, which was written under %s; want %s (written by %s)",
				describe(got.Data), quote(other), describe(r.data), r.writer), sentIDs
		}
		return fmt.Sprintf("Data = %s; want %s (written by %s)", describe(got.Data), describe(r.data), r.writer), sentData
	}
	if !m.expiryOK(got.Expiry, r.expiry) && !m.expiryOK(got.Expiry, r.saved) {
		sent := sentExpiry
		if !r.expiry.Before(sessionstore.MaxExpiry) {
			sent = sentMaxExpiry
		}
		return fmt.Sprintf("Expiry = %v; want %v", got.Expiry, r.expiry), sent
	}
	if !m.versioned {
		if got.Version != 0 {
			return fmt.Sprintf("Version = %d from a store without CompareAndSwap", got.Version), sentVersionZero
		}
		return "", ""
	}
	switch {
	case got.Version == 0:
		return "Version = 0", sentVersionZero
	case r.version != 0 && got.Version == r.version:
		// The version seen before, still current.
	case r.version != 0 && !r.touched:
		return fmt.Sprintf("Version = %d; want %d, loaded before and not written since", got.Version, r.version), sentVersion
	default:
		if owner, ok := m.seen[got.Version]; ok {
			return fmt.Sprintf("Version = %d after %s, a version given before to %s", got.Version, r.writer, quote(owner)), sentVersion
		}
	}
	r.version, r.touched = got.Version, false
	m.seen[got.Version] = id
	return "", ""
}

// writtenUnder returns another id whose record holds data, if any.
func (m *model) writtenUnder(data []byte, id string) string {
	for other, r := range m.recs {
		if other != id && len(data) > 0 && bytes.Equal(r.data, data) {
			return other
		}
	}
	return ""
}

// liveCount returns how many records are surely live and how many may be,
// for a call that ran from start to end.
func (m *model) liveCount(start, end time.Time) (sure, maybe int) {
	for _, r := range m.recs {
		switch m.status(r, start, end) {
		case live:
			sure++
		case either:
			maybe++
		}
	}
	return sure, maybe
}

// ids returns the ids of the model's records, sorted, for messages.
func (m *model) ids() []string {
	var ids []string
	for id := range m.recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
