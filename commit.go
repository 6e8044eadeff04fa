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

// The save core: every write the Manager makes goes through this file.
//
// One primitive writes: swap, a compare-and-swap over the version loaded
// (data nil deletes). A store without [Swapper] is adapted there, in one
// place: its swaps always win, so the last writer wins, and nothing else in
// the Manager knows the difference. One loop retries: retry, which loads
// again and re-decides after a lost swap, with a random, growing pause,
// until the context ends. Sessions and owners' indexes both go through it.
//
// A session's save state is its phase and what its next save must do
// (pending). Concurrent requests of one session in one process queue their
// saves on its store key, and whichever leads the queue writes the changes
// of every request waiting in it with one swap (a batch); requests of other
// processes are merged by retry.
//
// A renewal (RenewID, LogIn) saves the session under the new key first, then
// swaps the old record for a forward naming the new key. A request that
// opened the session before the renewal and saves after it follows the
// forward and merges its changes into the renewed session; one that arrives
// with the old id is dropped (it sees an empty session, stores nothing, sets
// no cookie). A destroy, a revoke or an expiry leaves nothing to forward to:
// the changes of requests that opened the session before it are dropped.
//
// The owner's index is the commit point of every owner operation, in the
// order docs/lifecycle.md states: a login lists the saved session; a
// renewal of an owned session moves its entry from the old key to the new
// one only if the old key is still listed, else it deletes its new record
// and is dropped; a logout unlists after the delete; a revoke unlists first,
// then deletes. So no interleaving leaves a live owned session unlisted.

// phase is where a session stands in the store.
type phase uint8

const (
	unsaved     phase = iota // no record: a save creates one under a fresh id, unless empty
	stored                   // a record is stored under key (as far as this request knows)
	undecodable              // key names a record that does not decode: a save deletes it
	ended                    // ended under this request, or a late request of a renewed id: nothing is stored
)

// pending is what the next save must do besides writing the changes.
type pending uint8

const (
	keep    pending = iota
	renewID         // store the session under a fresh id (RenewID, LogIn)
	destroy         // delete the record; what follows goes under a fresh id
)

const (
	// renewGrace is how long a renewed session's old key forwards to the new
	// one: requests that opened the session before the renewal and save
	// within it are merged into the renewed session.
	renewGrace = time.Minute
	// swapBackoff is the base of the random, growing pause between tries
	// after a swap lost to another process; maxSwapBackoff caps it.
	swapBackoff    = 50 * time.Microsecond
	maxSwapBackoff = 20 * time.Millisecond
	// cleanupTimeout bounds the delete of a half-made renewal after the
	// requests' contexts ended.
	cleanupTimeout = 5 * time.Second
	// maxForwards bounds the forwards a reload follows.
	maxForwards = 8
)

// gone is the expiry of a conditional delete: long past.
var gone = time.Unix(1, 0)

// swap writes data under key if the record there is still at version (0:
// no live record), or deletes it when data is nil, and reports whether it
// wrote. On a store without Swapper it writes unconditionally and always
// reports true: the last writer wins.
func (m *Manager) swap(ctx context.Context, key string, version uint64, data []byte, exp time.Time) (bool, error) {
	if sw, ok := m.Store.(Swapper); ok {
		if data == nil {
			exp = gone
		}
		return sw.CompareAndSwap(ctx, key, version, data, exp)
	}
	if data == nil {
		return true, m.Store.Delete(ctx, key)
	}
	return true, m.Store.Save(ctx, key, data, exp)
}

// retry calls try until it reports done or fails, pausing a random, growing
// time before the third and later tries, until ctx ends. An error met after
// a lost swap, once ctx ended, wraps ErrConflict.
func retry(ctx context.Context, try func(attempt int) (done bool, err error)) error {
	for attempt := 0; ; attempt++ {
		var err error
		if attempt > 1 {
			err = sleepBackoff(ctx, attempt)
		}
		if err == nil {
			var done bool
			if done, err = try(attempt); err == nil && done {
				return nil
			}
		}
		if err != nil {
			if attempt > 0 && ctx.Err() != nil && !errors.Is(err, ErrConflict) {
				err = fmt.Errorf("%w after %d lost swaps: %w", ErrConflict, attempt, err)
			}
			return err
		}
	}
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
		return fmt.Errorf("sessionstore: save: %w", context.Cause(ctx))
	}
}

// cookieAction is what a save does to the client's cookie.
type cookieAction uint8

const (
	cookieKeep   cookieAction = iota
	cookieSet                 // the session got a fresh id
	cookieExpire              // the record was deleted and nothing replaced it
)

// commit is one save of a session, whose lock it holds.
type commit struct {
	m      *Manager
	s      *Session
	ctx    context.Context
	now    time.Time
	late   bool // the response header was sent: no new cookie possible
	cookie cookieAction
}

// run writes what the session changed, then says what the cookie needs.
func (c *commit) run() error {
	s := c.s
	if !s.dirty() {
		return c.refresh()
	}
	if s.pending == renewID && s.phase == stored && c.late {
		return fmt.Errorf("sessionstore: save: RenewID needs a new cookie; nothing saved: %w", ErrHeaderSent)
	}
	switch s.phase {
	case undecodable:
		if _, err := c.m.swap(c.ctx, s.key, s.version, nil, gone); err != nil {
			return fmt.Errorf("sessionstore: save: delete: %w", err)
		}
		s.forget()
		c.cookie = cookieExpire
	case stored:
		if err := c.queued(); err != nil {
			return err
		}
	}
	if s.phase == unsaved {
		return c.create()
	}
	s.pending, s.login = keep, nil
	return nil
}

// forget leaves s without a stored record.
func (s *Session) forget() {
	s.id, s.key, s.phase, s.version, s.raw, s.expiry = "", "", unsaved, 0, nil, time.Time{}
}

// create stores a session that has no record under a fresh id, unless it is
// empty, and lists it when it logs in.
func (c *commit) create() error {
	s, m := c.s, c.m
	if s.empty() {
		s.pending, s.login = keep, nil
		return nil
	}
	if c.late {
		return fmt.Errorf("sessionstore: save: a new session needs a cookie; nothing saved: %w", ErrHeaderSent)
	}
	if s.created.IsZero() {
		s.created = c.now
	}
	id := newID()
	key, exp := m.storeKey(id), m.expiryOf(&s.state, c.now)
	// A fresh key of 256 random bits has no other writer: a plain Save.
	err := m.withRecord(s, func(data []byte) error { return m.Store.Save(c.ctx, key, data, exp) })
	if err != nil {
		return fmt.Errorf("sessionstore: save: %w", err)
	}
	if lg := s.login; lg != nil {
		if _, err := m.list(c.ctx, lg.owner, nil, m.entry(key, &s.state, lg.meta), false); err != nil {
			m.deleteAfter(c.ctx, key, "a login failed and its session could not be deleted")
			return fmt.Errorf("sessionstore: save: log in: %w", err)
		}
	}
	s.id, s.key, s.phase, s.version, s.expiry = id, key, stored, 0, exp
	s.pending, s.login, c.cookie = keep, nil, cookieSet
	m.observe(c.ctx, EventCreated)
	return nil
}

// refresh moves the expiry of an unchanged stored session forward when the
// idle timeout asks for it and the move is worth a write.
func (c *commit) refresh() error {
	s, m := c.s, c.m
	exp := m.expiryOf(&s.state, c.now)
	if exp.Sub(s.expiry) <= m.IdleTimeout/touchDivisor || s.raw == nil { // nil: saved by this request
		return nil
	}
	var err error
	if t, ok := m.Store.(Toucher); ok {
		_, err = t.Touch(c.ctx, s.key, exp)
	} else {
		// Losing means another request wrote, which moved the expiry too.
		_, err = m.swap(c.ctx, s.key, s.version, s.raw, exp)
	}
	if err != nil {
		return fmt.Errorf("sessionstore: refresh expiry: %w", err)
	}
	s.expiry = exp
	return nil
}

// deleteAfter deletes key even when ctx ended, logging a failure as msg.
func (m *Manager) deleteAfter(ctx context.Context, key, msg string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := m.Store.Delete(ctx, key); err != nil {
		m.logger().ErrorContext(ctx, "sessionstore: "+msg, "error", err)
	}
}

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
	c    *commit
	lead chan struct{} // closed when this save must write the next batch
	done chan struct{} // closed when a batch carried this save out
	err  error
}

// queued writes the changes of c's session, with those of every concurrent
// save of the same session in this process.
func (c *commit) queued() error {
	m, s := c.m, c.s
	qs := &s.qs
	*qs = queuedSave{c: c}
	key := s.key
	m.commits.mu.Lock()
	if m.commits.byKey == nil {
		m.commits.byKey = make(map[string]*commitQueue)
	}
	q := m.commits.byKey[key]
	if q == nil {
		if q = &s.cq; q.inMap {
			q = new(commitQueue) // still serving the key this session had before a renewal
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
	m.lead(key, q)
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
	case <-qs.c.ctx.Done():
	}
	m.commits.mu.Lock()
	for i, w := range q.waiting {
		if w == qs {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			m.commits.mu.Unlock()
			qs.err = fmt.Errorf("sessionstore: save: %w", qs.c.ctx.Err())
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
func (m *Manager) lead(key string, q *commitQueue) {
	m.commits.mu.Lock()
	saves := q.waiting
	q.waiting = nil
	written := q.written
	m.commits.mu.Unlock()

	b := batch{m: m, key: key, saves: saves}
	if len(saves) == 1 && !written {
		// The one save of a queue it made: the clock it read as it began is
		// still now (a clock read is a tenth of a save on the memory store).
		b.now = saves[0].c.now
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
	ctx   context.Context
	now   time.Time
	saves []*queuedSave

	key   string   // where the session is now: its key, or where a renewal forwarded it
	chain []string // when forwards were followed: the keys passed to reach key, key last
	base  Record   // the record under key that the swap goes over
	found bool

	out           outcome
	st            state     // the merged state written
	data          []byte    // the record written
	exp           time.Time // its expiry
	newID, newKey string    // the renewal's new id, once one was saved
}

// outcome is what a batch did to the session.
type outcome uint8

const (
	saved     outcome = iota // the merged session was swapped in
	renewed                  // saved under newKey, the old key forwards to it
	emptied                  // the merged session was empty: deleted
	destroyed                // a save destroyed it: deleted
	lost                     // it was gone (destroyed, revoked, expired): changes dropped
)

// write carries out the batch. stale says the records its saves loaded are
// known to be out of date.
func (b *batch) write(stale bool) error {
	ctx, stop := b.context()
	defer stop()
	b.ctx = ctx
	first := b.saves[0].c.s
	b.base, b.found = Record{Data: first.raw, Expiry: first.expiry, Version: first.version}, true
	stale = stale || first.raw == nil    // a session created by this request: its version is unknown
	fresh := !stale && len(b.saves) == 1 // the one save's state is base plus its changes
	err := retry(ctx, func(attempt int) (bool, error) {
		if stale || attempt > 0 {
			if err := b.load(); err != nil {
				return false, err
			}
			fresh = false
		}
		if !b.found {
			b.out = lost
			return true, nil
		}
		ok, err := b.try(fresh)
		if err == nil && !ok {
			b.m.observe(b.ctx, EventConflict)
		}
		return ok, err
	})
	if err == nil {
		err = b.index()
	}
	if err != nil || b.out != renewed {
		b.undoRenewal()
	}
	if err != nil {
		return err
	}
	b.finish()
	return nil
}

// context returns the context of the batch's store calls: it ends when the
// context of every save in it ended, so one request that goes away does not
// fail the others. It carries the values of the first save's context.
func (b *batch) context() (context.Context, func()) {
	first := b.saves[0].c.ctx
	if len(b.saves) == 1 {
		return first, func() {}
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(first))
	left := int32(len(b.saves))
	stops := make([]func() bool, len(b.saves))
	for i, qs := range b.saves {
		sctx := qs.c.ctx
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
		rec, found, err := b.m.Store.Load(b.ctx, b.key)
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
		b.chain = append(b.keys(), to)
		b.key = to
	}
}

// try makes one compare-and-swap of the batch over b.base. fresh says the
// single save's state is b.base with its changes applied: it is written as
// is, without decoding b.base.
func (b *batch) try(fresh bool) (ok bool, err error) {
	m := b.m
	if b.has(func(s *Session) bool { return s.pending == destroy }) {
		b.out = destroyed
		return m.swap(b.ctx, b.key, b.base.Version, nil, gone)
	}
	st, err := b.merged(fresh)
	b.st = st
	if err != nil {
		// The latest record does not decode (a newer program wrote it):
		// what these saves change cannot be applied to it.
		m.logger().WarnContext(b.ctx, "sessionstore: stored session does not decode; changes dropped", "error", err)
		m.observe(b.ctx, EventUndecodable)
		b.out = lost
		return true, nil
	}
	if st.empty() {
		b.out = emptied
		return m.swap(b.ctx, b.key, b.base.Version, nil, gone)
	}
	var buf []byte
	if fresh {
		// Only the store sees these bytes (it keeps a copy), and the
		// session's state is already what they hold: a pooled buffer, and
		// the session keeps no raw record (its next save loads first).
		bp := bufPool.Get().(*[]byte)
		defer func() {
			if *bp, b.data = b.data[:0], nil; cap(*bp) <= maxPooledBuf {
				bufPool.Put(bp)
			}
		}()
		buf = (*bp)[:0]
	} else {
		// A fresh buffer: it becomes the session's raw record.
		buf = make([]byte, 0, recordCap(len(b.base.Data)))
	}
	if b.data, err = encodeState(buf, m.codec(), &st); err != nil {
		return false, fmt.Errorf("sessionstore: save: %w", err)
	}
	b.exp = m.expiryOf(&st, b.now)
	if !b.has(func(s *Session) bool { return s.pending == renewID }) {
		b.out = saved
		ok, err = m.swap(b.ctx, b.key, b.base.Version, b.data, b.exp)
	} else {
		b.out = renewed
		ok, err = b.renew()
	}
	if err != nil {
		return false, fmt.Errorf("sessionstore: save: %w", err)
	}
	return ok, nil
}

// merged returns the state to write: b.base with the changes of every save
// applied in the order they queued.
func (b *batch) merged(fresh bool) (state, error) {
	if fresh {
		return b.saves[0].c.s.state, nil
	}
	st, err := decodeState(b.base.Data, b.m.codec())
	if err != nil {
		return st, err
	}
	for _, qs := range b.saves {
		for i := range qs.c.s.ops {
			qs.c.s.ops[i].apply(&st)
		}
	}
	return st, nil
}

// renew saves the session under the new key, then swaps the record under
// b.key for a forward to it. It reports false when the swap lost; the new
// record is then saved again over it on the next try.
func (b *batch) renew() (bool, error) {
	if b.newKey == "" {
		b.newID = newID()
		b.newKey = b.m.storeKey(b.newID)
	}
	if err := b.m.Store.Save(b.ctx, b.newKey, b.data, b.exp); err != nil {
		return false, err
	}
	fwdExp := b.now.Add(renewGrace)
	if !b.base.Expiry.IsZero() && b.base.Expiry.Before(fwdExp) {
		fwdExp = b.base.Expiry
	}
	ok, err := b.m.swap(b.ctx, b.key, b.base.Version, encodeForward(b.newKey), fwdExp)
	if err != nil {
		return false, fmt.Errorf("forward old id: %w", err)
	}
	return ok, nil
}

// index keeps the owner's index in step with what the batch did: a renewal
// of an owned session moves its entry to the new key, or, when the entry is
// gone (the session was revoked meanwhile), deletes its new record and
// drops the batch; a login lists the session; a destroy unlists it.
func (b *batch) index() error {
	if b.out != destroyed && (b.out != renewed || b.st.owner == "") {
		return nil
	}
	m, was, now := b.m, Inspect(b.base).Owner, b.st.owner
	if was != "" && was != now {
		m.unlistLogged(b.ctx, was, b.keys()) // destroyed, or bound to another owner
	}
	if b.out == destroyed {
		return nil
	}
	var meta map[string]string // a login's; nil keeps the entry's
	for _, qs := range b.saves {
		if lg := qs.c.s.login; lg != nil {
			meta = lg.meta
		}
	}
	listed, err := m.list(b.ctx, now, b.keys(), m.entry(b.newKey, &b.st, meta), was == now)
	if err != nil {
		return fmt.Errorf("sessionstore: save: owner index: %w", err)
	}
	if !listed {
		// Revoked since this batch loaded it: the renewed session must not
		// outlive the revoke (undoRenewal deletes it).
		b.out = lost
	}
	return nil
}

// keys returns the keys the batch passed through, key last.
func (b *batch) keys() []string {
	if b.chain == nil {
		return []string{b.key}
	}
	return b.chain
}

// unlistLogged unlists the keys of a session that ended (or changed owner)
// after the fact; a failure is logged: the entry of a session that ended is
// never listed, and pruned later.
func (m *Manager) unlistLogged(ctx context.Context, owner string, keys []string) {
	if err := m.unlist(ctx, owner, keys); err != nil {
		m.logger().WarnContext(ctx, "sessionstore: an ended session stays in its owner's index", "error", err)
	}
}

// has reports whether a save of the batch satisfies f.
func (b *batch) has(f func(s *Session) bool) bool {
	for _, qs := range b.saves {
		if f(qs.c.s) {
			return true
		}
	}
	return false
}

// undoRenewal deletes the record saved under the new key when the renewal
// did not complete, so a failed login leaves no logged-in session behind.
func (b *batch) undoRenewal() {
	if b.newKey != "" {
		b.m.deleteAfter(b.ctx, b.newKey, "a renewal failed and its new record could not be deleted")
		b.newKey, b.newID = "", ""
	}
}

// finish tells every session of the batch what became of it.
func (b *batch) finish() {
	for _, qs := range b.saves {
		c, s := qs.c, qs.c.s
		permChanged := s.permanent != s.loadedPermanent()
		destroying, renewing := s.pending == destroy, s.pending == renewID
		s.ops = clearOps(s.ops)
		switch {
		case destroying && (b.out == destroyed || b.out == lost):
			// What the request stored after Destroy goes under a fresh id.
			if b.out == destroyed {
				b.m.observe(c.ctx, EventDestroyed)
			}
			s.forget()
			c.cookie = cookieExpire
		case b.out == saved || b.out == renewed:
			if len(b.saves) > 1 || s.version != b.base.Version || b.key != s.key {
				// Each session gets its own copy of the merged state.
				s.state, _ = decodeState(b.data, b.m.codec())
			}
			switch {
			case b.out == renewed && renewing:
				s.id, c.cookie = b.newID, cookieSet
				b.m.observe(c.ctx, EventRenewed)
			case b.out == saved && b.key == s.key && permChanged:
				c.cookie = cookieSet // the cookie follows Permanent
			} // else merged into a session the client holds another id of: no cookie
			s.raw, s.expiry, s.version, s.key = b.data, b.exp, b.base.Version, b.key
			if b.out == renewed {
				s.key = b.newKey
			}
		case b.out == emptied:
			s.forget()
			c.cookie = cookieExpire
		default: // gone meanwhile, or destroyed by another request of the batch
			s.forget()
			s.phase, s.state, s.login = ended, state{permanent: s.permDefault}, nil
			b.m.observe(c.ctx, EventDropped)
			b.m.logger().DebugContext(c.ctx, "sessionstore: the session ended during the request (destroyed, revoked or expired); its changes were dropped")
		}
	}
}
