package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// How the Manager writes a stored session to a versioned store (Swapper).
//
// Concurrent requests of one session in one process do not fight each other
// through the database: their saves queue on the session's store key, and
// whichever request leads the queue writes the changes of every request
// waiting in it with one compare-and-swap (a batch). Requests of other
// processes are merged the slow way: a lost swap loads the latest record,
// applies the batch's changes again and retries, with a random, growing
// pause, until the requests' contexts end.
//
// A renewal (RenewID) saves the session under the new key first, then swaps
// the old record for a forwarding record naming the new key (see
// encodeForward). A request that opened the session before the renewal and
// saves after it finds the forward and merges its changes into the renewed
// session; a request that arrives with the old id reads the forward as no
// session at all. A destroy, a revoke or an expiry leaves nothing to
// forward to: the changes of requests that opened the session before it are
// dropped (logout wins), and they set no cookie.

const (
	// renewGrace is how long a renewed session's old key forwards to the new
	// one: requests that opened the session before the renewal and save
	// within it are merged into the renewed session; later ones are dropped
	// as if the session had ended.
	renewGrace = time.Minute
	// swapBackoff is the base of the random, growing pause between tries
	// after a swap lost to another process; maxSwapBackoff caps it.
	swapBackoff    = 50 * time.Microsecond
	maxSwapBackoff = 20 * time.Millisecond
	// cleanupTimeout bounds the delete of a half-made renewal after the
	// requests' contexts ended.
	cleanupTimeout = 5 * time.Second
)

// commitQueues holds a queue per store key that has a save under way in this
// process. A queue is removed when it empties, so idle sessions cost nothing.
type commitQueues struct {
	mu    sync.Mutex
	byKey map[string]*commitQueue
}

// commitQueue is the saves of one stored session waiting to be written.
// The first save of a session that finds no queue uses the one in its own
// Session, so an uncontended save allocates none; inMap says that queue is
// in use.
type commitQueue struct {
	waiting []*queuedSave
	first   [1]*queuedSave // waiting's first array
	inMap   bool           // the queue is in commitQueues.byKey
	leading bool           // a save of this queue is writing a batch
	// written says a batch of this queue was written, so the records its
	// waiting saves loaded are out of date: the next batch starts by loading.
	written bool
}

// queuedSave is one request's save waiting in a commitQueue. It lives in
// its Session (one save at a time): a batch that carried it out no longer
// touches it once it closed done.
type queuedSave struct {
	sv   *saving
	lead chan struct{} // closed when this save must write the next batch
	done chan struct{} // closed when a batch carried this save out
	err  error
}

// queued writes the changes of sv's session, with those of every concurrent
// save of the same session in this process, through sw.
func (sv *saving) queued(sw Swapper) error {
	m, s := sv.m, sv.s
	qs := &s.qs
	*qs = queuedSave{sv: sv}
	key := s.key
	m.commits.mu.Lock()
	if m.commits.byKey == nil {
		m.commits.byKey = make(map[string]*commitQueue)
	}
	q := m.commits.byKey[key]
	if q == nil {
		if q = &s.cq; q.inMap {
			// Still serving the saves of the key this session had before a
			// renewal.
			q = new(commitQueue)
		}
		*q = commitQueue{inMap: true}
		q.waiting = q.first[:0]
		m.commits.byKey[key] = q
	}
	q.waiting = append(q.waiting, qs)
	lead := !q.leading
	if lead {
		q.leading = true
	} else {
		qs.lead, qs.done = make(chan struct{}), make(chan struct{})
	}
	m.commits.mu.Unlock()

	if !lead && !qs.wait(m, q) {
		return qs.err
	}
	sv.m.lead(sw, key, q)
	return qs.err
}

// wait blocks until qs was carried out by another save's batch (false) or
// must lead the next batch itself (true). A save whose context ends while it
// waits leaves the queue with the context's error.
func (qs *queuedSave) wait(m *Manager, q *commitQueue) bool {
	select {
	case <-qs.done:
		return false
	case <-qs.lead:
		return true
	case <-qs.sv.ctx.Done():
	}
	m.commits.mu.Lock()
	for i, w := range q.waiting {
		if w == qs {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			m.commits.mu.Unlock()
			qs.err = fmt.Errorf("sessionstore: save: %w", qs.sv.ctx.Err())
			return false
		}
	}
	m.commits.mu.Unlock()
	// Too late to leave: a batch took it, or it was just chosen to lead.
	select {
	case <-qs.done:
		return false
	case <-qs.lead:
		return true
	}
}

// lead writes every save waiting in q as one batch, then hands the queue to
// the next save that arrived meanwhile, or removes it.
func (m *Manager) lead(sw Swapper, key string, q *commitQueue) {
	m.commits.mu.Lock()
	saves := q.waiting
	q.waiting = nil
	written := q.written
	m.commits.mu.Unlock()

	b := batch{m: m, sw: sw, key: key, saves: saves}
	if len(saves) == 1 && !written {
		// The one save of a queue it made: it led at once, and the clock
		// it read as it began is still now (a clock read is a tenth of a
		// save on the memory store).
		b.now = saves[0].sv.now
	} else {
		b.now = m.clock()
	}
	err := b.write(written)
	for _, qs := range saves {
		qs.err = err
		if qs.done != nil {
			close(qs.done)
		}
	}

	m.commits.mu.Lock()
	q.written = true
	if len(q.waiting) > 0 {
		close(q.waiting[0].lead)
	} else {
		q.leading, q.inMap = false, false
		delete(m.commits.byKey, key)
	}
	m.commits.mu.Unlock()
}

// batch is the saves of one session written by one compare-and-swap.
type batch struct {
	m     *Manager
	sw    Swapper
	ctx   context.Context
	now   time.Time
	saves []*queuedSave

	key   string // where the session is now: its key, or where a renewal forwarded it
	base  Record // the record under key that the swap goes over
	found bool

	newID, newKey string    // the renewal's new id, once one was saved
	exp           time.Time // the expiry of the record last tried
}

// outcome is what a batch did to the session.
type outcome int

const (
	saved     outcome = iota // the merged session was swapped in
	renewed                  // saved under newKey, the old key forwards to it
	emptied                  // the merged session was empty: deleted
	destroyed                // a save destroyed it: deleted
	ended                    // it was gone (destroyed, revoked, expired): changes dropped
)

// write carries out the batch. stale says the records its saves loaded are
// known to be out of date.
func (b *batch) write(stale bool) error {
	ctx, stop := b.context()
	defer stop()
	b.ctx = ctx
	first := b.saves[0].sv.s
	b.base, b.found = Record{Data: first.raw, Expiry: first.expiry, Version: first.version}, true
	stale = stale || first.raw == nil    // a session created by this request: its version is unknown
	fresh := !stale && len(b.saves) == 1 // the one save's state is base plus its changes
	for attempt := 0; ; attempt++ {
		if stale || attempt > 0 {
			if attempt > 1 {
				if err := b.pause(attempt); err != nil {
					return b.fail(err)
				}
			}
			if err := b.load(); err != nil {
				return b.fail(b.conflict(attempt, err))
			}
			fresh = false
		}
		if !b.found {
			return b.finish(ended, nil)
		}
		out, data, ok, err := b.try(fresh)
		if err != nil {
			return b.fail(b.conflict(attempt, err))
		}
		if ok {
			return b.finish(out, data)
		}
		b.m.observe(b.ctx, EventConflict)
	}
}

// context returns the context of the batch's store calls: it ends when the
// context of every save in it ended, so one request that goes away does not
// fail the others. It carries the values of the first save's context.
func (b *batch) context() (context.Context, func()) {
	first := b.saves[0].sv.ctx
	if len(b.saves) == 1 {
		return first, func() {}
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(first))
	left := int32(len(b.saves))
	stops := make([]func() bool, len(b.saves))
	for i, qs := range b.saves {
		sctx := qs.sv.ctx
		stops[i] = context.AfterFunc(sctx, func() {
			if atomic.AddInt32(&left, -1) == 0 {
				cancel(context.Cause(sctx))
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel(nil)
	}
}

// load reads the record under b.key, following forwards of renewals.
func (b *batch) load() error {
	for hops := 0; ; hops++ {
		rec, found, err := b.m.loadRecord(b.ctx, b.key)
		if err != nil {
			return fmt.Errorf("sessionstore: save: reload: %w", err)
		}
		b.base, b.found = rec, found
		to, ok := forwardOf(rec.Data)
		if !found || !ok {
			return nil
		}
		if hops >= maxForwards {
			b.found = false // a chain of renewals this long is not worth following
			return nil
		}
		b.key = to
	}
}

// maxForwards bounds the forwards a reload follows.
const maxForwards = 8

// try makes one compare-and-swap of the batch over b.base. fresh says the
// single save's state is b.base with its changes applied: it is written as
// is, without decoding b.base.
func (b *batch) try(fresh bool) (out outcome, data []byte, ok bool, err error) {
	past := b.now.Add(-time.Hour)
	if b.has(func(s *Session) bool { return s.destroyed }) {
		ok, err := b.sw.CompareAndSwap(b.ctx, b.key, b.base.Version, nil, past)
		if err != nil {
			return 0, nil, false, fmt.Errorf("sessionstore: save: delete: %w", err)
		}
		return destroyed, nil, ok, nil
	}
	st, err := b.merged(fresh)
	if err != nil {
		// The latest record does not decode (a newer program wrote it):
		// what these saves change cannot be applied to it.
		b.m.logger().WarnContext(b.ctx, "sessionstore: stored session does not decode; changes dropped", "error", err)
		b.m.observe(b.ctx, EventUndecodable)
		return ended, nil, true, nil
	}
	if st.empty() {
		ok, err := b.sw.CompareAndSwap(b.ctx, b.key, b.base.Version, nil, past)
		if err != nil {
			return 0, nil, false, fmt.Errorf("sessionstore: save: delete: %w", err)
		}
		return emptied, nil, ok, nil
	}
	// A fresh buffer: it becomes the session's raw record.
	if data, err = encodeState(make([]byte, 0, recordCap(len(b.base.Data))), b.m.codec(), &st); err != nil {
		return 0, nil, false, fmt.Errorf("sessionstore: save: %w", err)
	}
	exp := b.m.expiryOf(&st, b.now)
	b.exp = exp
	if b.has(func(s *Session) bool { return s.renew }) {
		ok, err := b.renew(data, exp)
		return renewed, data, ok, err
	}
	ok, err = b.sw.CompareAndSwap(b.ctx, b.key, b.base.Version, data, exp)
	if err != nil {
		return 0, nil, false, fmt.Errorf("sessionstore: save: %w", err)
	}
	return saved, data, ok, nil
}

// merged returns the state to write: b.base with the changes of every save
// applied in the order they queued.
func (b *batch) merged(fresh bool) (state, error) {
	if fresh {
		return b.saves[0].sv.s.state, nil
	}
	st, err := decodeState(b.base.Data, b.m.codec())
	if err != nil {
		return st, err
	}
	for _, qs := range b.saves {
		for i := range qs.sv.s.ops {
			qs.sv.s.ops[i].apply(&st)
		}
	}
	return st, nil
}

// renew saves the session under the new key, then swaps the record under
// b.key for a forward to it. It reports false when the swap lost; the new
// record is then saved again over it on the next try.
func (b *batch) renew(data []byte, exp time.Time) (bool, error) {
	if b.newKey == "" {
		b.newID = newID()
		b.newKey = b.m.storeKey(b.newID)
	}
	if err := b.m.Store.Save(b.ctx, b.newKey, data, exp); err != nil {
		return false, fmt.Errorf("sessionstore: save: %w", err)
	}
	fwdExp := b.now.Add(renewGrace)
	if !b.base.Expiry.IsZero() && b.base.Expiry.Before(fwdExp) {
		fwdExp = b.base.Expiry
	}
	ok, err := b.sw.CompareAndSwap(b.ctx, b.key, b.base.Version, encodeForward(b.newKey), fwdExp)
	if err != nil {
		return false, fmt.Errorf("sessionstore: save: forward old id: %w", err)
	}
	return ok, nil
}

// has reports whether a save of the batch satisfies f.
func (b *batch) has(f func(s *Session) bool) bool {
	for _, qs := range b.saves {
		if f(qs.sv.s) {
			return true
		}
	}
	return false
}

// pause waits a random, growing time before another try, so that processes
// writing the same session spread out; it fails when the context ends.
func (b *batch) pause(attempt int) error {
	if err := sleepBackoff(b.ctx, attempt); err != nil {
		return b.conflict(attempt, fmt.Errorf("sessionstore: save: %w", err))
	}
	return nil
}

// sleepBackoff waits a random time growing with attempt, from swapBackoff
// up to maxSwapBackoff, or until ctx ends, returning its cause.
func sleepBackoff(ctx context.Context, attempt int) error {
	d := maxSwapBackoff
	if attempt < 16 && swapBackoff<<attempt < d {
		d = swapBackoff << attempt
	}
	t := time.NewTimer(rand.N(d) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// conflict marks err, met after attempt lost swaps, as the end of retrying
// against concurrent writers when it is the end of the context.
func (b *batch) conflict(attempt int, err error) error {
	if attempt == 0 || b.ctx.Err() == nil || errors.Is(err, ErrConflict) {
		return err
	}
	return fmt.Errorf("%w after %d lost swaps: %w", ErrConflict, attempt, err)
}

// fail undoes a half-made renewal and returns err.
func (b *batch) fail(err error) error {
	b.undoRenewal()
	return err
}

// undoRenewal deletes the record saved under the new key when the renewal
// did not complete, so a failed login leaves no logged-in session behind.
func (b *batch) undoRenewal() {
	if b.newKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), cleanupTimeout)
	defer cancel()
	if err := b.m.Store.Delete(ctx, b.newKey); err != nil {
		b.m.logger().ErrorContext(ctx, "sessionstore: a renewal failed and its new record could not be deleted", "error", err)
	}
	b.newKey, b.newID = "", ""
}

// finish tells every session of the batch what became of it.
func (b *batch) finish(out outcome, data []byte) error {
	if out != renewed {
		b.undoRenewal()
	}
	for _, qs := range b.saves {
		s := qs.sv.s
		s.ops = clearOps(s.ops)
		switch out {
		case saved, renewed:
			if len(b.saves) > 1 || qs.sv.s.version != b.base.Version || b.key != s.key {
				// Each session gets its own copy of the merged state.
				st, _ := decodeState(data, b.m.codec())
				s.state = st
			}
			s.raw, s.expiry, s.version = data, b.exp, b.base.Version
			if out == renewed && s.renew {
				s.id, qs.sv.newID = b.newID, true
				b.m.observe(qs.sv.ctx, EventRenewed)
			} else if b.key != s.key || out == renewed {
				s.merged = true // the client holds another id: it gets no cookie from here
			}
			if out == renewed {
				s.key = b.newKey
			} else {
				s.key = b.key
			}
			s.renew = false
		case emptied:
			s.forget()
			s.dropCookie, s.renew = true, false
		case destroyed, ended:
			if s.destroyed {
				if out == destroyed {
					b.m.observe(qs.sv.ctx, EventDestroyed)
				}
				s.endedKey = b.key
				s.forget()
				s.dropCookie, s.destroyed, s.renew = true, false, false
				continue
			}
			s.forget()
			s.state = state{permanent: s.permDefault}
			s.dropped, s.renew = true, false
			b.m.observe(qs.sv.ctx, EventDropped)
			b.m.logger().DebugContext(qs.sv.ctx, "sessionstore: the session ended during the request (destroyed, revoked or expired); its changes were dropped")
		}
	}
	return nil
}
