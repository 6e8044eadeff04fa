package encrypt

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storewrap"
)

// Progress reports a Reencrypt pass.
type Progress struct {
	// Total is the number of records the wrapped store held when the pass
	// began, from its Count; 0 when it cannot count.
	Total int

	// Visited is the number of records walked so far. It ends a little
	// above or below Total when sessions come and go during the pass.
	Visited int

	// Rewritten is the number of records resealed with the primary key.
	Rewritten int

	// Current is the number of records already sealed with the primary key
	// (some by concurrent writers during the pass).
	Current int

	// Gone is the number of records deleted or expired before the pass
	// could reseal them.
	Gone int

	// Unreadable is the number of records that open with no key of the
	// ring. They read as absent and are left as they are; a warning lists
	// their key ids.
	Unreadable int
}

// progressEvery is how many records Reencrypt visits between two calls of
// its progress function.
const progressEvery = 1000

// Reencrypt reseals with the primary key every record of s still sealed
// with another key of the ring, so that the other keys can be retired. s is
// a Store returned by New; its wrapped store must implement Iterator and
// Swapper (every backend of this module that can list its records does).
//
// Each record is resealed with CompareAndSwap over the version it was read
// at, keeping its expiry, so a request that writes the session meanwhile is
// never overwritten: the pass then reads the record again and reseals it
// only if it is still under an old key. The pass adds one write per record
// to reseal, one read per lost race, and nothing for records already under
// the primary key.
//
// progress, when not nil, is called after every 1,000 records visited and
// once at the end. Reencrypt returns the final Progress, with an error when
// the walk or a write failed or ctx ended; running it again continues where
// it stopped, since resealed records are skipped.
//
// Run it after every process writing to the store uses the new primary
// key (see the package doc for the whole rotation). A pass that reports
// Rewritten == 0 and Unreadable == 0 proves that no record needs the other
// keys any more.
func Reencrypt(ctx context.Context, s sessionstore.Store, progress func(Progress)) (Progress, error) {
	var p Progress
	w, _ := storewrap.Of(s)
	e, ok := w.(*sealer)
	if !ok {
		return p, fmt.Errorf("encrypt: reencrypt: %T is not a Store made by encrypt.New", s)
	}
	if e.iterator == nil || e.swapper == nil {
		return p, fmt.Errorf("encrypt: reencrypt: the wrapped store %T cannot both iterate and compare-and-swap; keep the old keys until every session they sealed has expired: %w",
			e.inner, errors.ErrUnsupported)
	}
	if e.counter != nil {
		n, err := e.counter.Count(ctx)
		if err != nil {
			return p, fmt.Errorf("encrypt: reencrypt: %w", err)
		}
		p.Total = n
	}
	report := func() {
		if progress != nil {
			progress(p)
		}
	}
	var bad unopenedTally
	var failed error
	err := e.iterator.Iterate(ctx, func(id string, rec sessionstore.Record) bool {
		p.Visited++
		if err := e.reseal(ctx, id, rec, &p, &bad); err != nil {
			failed = err
			return false
		}
		if p.Visited%progressEvery == 0 {
			report()
		}
		return true
	})
	bad.log(ctx, e.logger(), "reencrypt")
	report()
	if err = cmp.Or(failed, err); err != nil {
		return p, fmt.Errorf("encrypt: reencrypt: %w", err)
	}
	return p, nil
}

// maxResealAttempts bounds the swaps of one record, so that a store whose
// versions never match cannot hold the pass forever.
const maxResealAttempts = 100

// reseal reseals one record with the primary key unless it is sealed with
// it already, retrying over the latest version until it is.
func (e *sealer) reseal(ctx context.Context, id string, rec sessionstore.Record, p *Progress, bad *unopenedTally) error {
	primary := e.keys.Primary()
	for attempt := 1; ; attempt++ {
		if attempt > maxResealAttempts {
			return fmt.Errorf("a record changed %d times while being resealed; run the pass again", maxResealAttempts)
		}
		if kid, ok := keyIDOf(rec.Data); ok && string(kid) == primary {
			p.Current++
			return nil
		}
		data, kid, err := e.keys.openCopy(id, rec.Data)
		if err != nil {
			p.Unreadable++
			bad.add(kid, err)
			return nil
		}
		swapped, err := e.swapper.CompareAndSwap(ctx, id, rec.Version, e.keys.seal(nil, id, data), rec.Expiry)
		if err != nil {
			return err
		}
		if swapped {
			p.Rewritten++
			return nil
		}
		// Written meanwhile (or the walk gave no version): read it again.
		var found bool
		rec, found, err = e.inner.Load(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			p.Gone++
			return nil
		}
	}
}
