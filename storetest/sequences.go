package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/sessionstore/sessionstore"
)

// Random operation sequences checked against the model: rapid draws a
// sequence of calls on a fresh store (ids across byte classes, sizes at
// every boundary, expiries from the zero time to past the year 9999, every
// kind of CompareAndSwap version, over one or two handles on the same
// data), checks each answer against the model, and when one is wrong
// shrinks the sequence to a short one that still fails and prints it, one
// call a line, with the sentence of store.go it breaks.
//
// How many sequences: rapid's -rapid.checks flag (RAPID_CHECKS, default
// 100). How long each: up to STORETEST_STEPS calls (default 40).

// defaultSteps is the longest sequence by default.
const defaultSteps = 40

// sequenceSteps is the longest sequence of this run.
func sequenceSteps() int {
	if n, err := strconv.Atoi(os.Getenv("STORETEST_STEPS")); err == nil && n > 0 {
		return n
	}
	return defaultSteps
}

func (s *suite) modelChecks() []check {
	return []check{
		{name: "random operations agree with the model", clock: true, run: s.sequences},
		{name: "concurrent operations are linearizable", clock: true, run: s.linearizable},
	}
}

// openAgain returns another handle on st's data, or nil.
func (s *suite) openAgain(t tester, st *store) *store {
	if s.h.OpenAgain == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	other := s.h.OpenAgain(tb(t), st.Store)
	if other == nil {
		return nil
	}
	return newStore(other)
}

// machine is one random sequence under way.
type machine struct {
	s       *suite
	t       tester // the subtest, for the harness
	rt      *rapid.T
	ctx     context.Context
	m       *model
	handles []*store
	ids     []string
	clock   bool
	step    int
	// big allows sizes around the maximum; bigWrites counts their writes.
	big       bool
	bigWrites int
	// loaned are the Data of earlier Loads, with what they held: a store
	// that reuses them shows in a later check.
	loaned []loan
}

type loan struct {
	data, want []byte
	what       string
}

func (s *suite) sequences(t tester, _ *store) {
	// The handles of the last sequence, for a store that can be emptied:
	// opening a store is a table or a database on some servers, and a
	// sequence takes milliseconds.
	var kept []*store
	defer func() { closeAll(kept) }()
	rapid.Check(t, func(rt *rapid.T) {
		if err := t.Context().Err(); err != nil {
			// The suite was stopped (RunSuite's context): no more
			// sequences, and nothing to shrink.
			rt.Skipf("the suite's context ended: %v", err)
		}
		// The calls end with the subtest (RunSuite's context), not only
		// with the sequence.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		stop := context.AfterFunc(rt.Context(), cancel)
		defer stop()
		mc := &machine{s: s, t: t, rt: rt, ctx: ctx}
		if kept != nil && mc.empty(kept) {
			mc.handles = kept
		} else {
			closeAll(kept)
			first := s.newStore(t)
			mc.handles = []*store{first}
			if other := s.openAgain(t, first); other != nil {
				mc.handles = append(mc.handles, other)
			}
		}
		kept = nil
		defer func() {
			// A store that held records of several MiB starts afresh: some
			// databases stay slow on a collection that once held one.
			if rt.Failed() || mc.bigWrites > 0 {
				closeAll(mc.handles)
				return
			}
			kept = mc.handles
		}()
		first := mc.handles[0]
		maxSize := s.h.MaxDataSize
		if maxSize == 0 {
			maxSize = math.MaxInt // no maximum: every size is kept
		}
		mc.m = newModel(s.h, first.swapper != nil, maxSize)
		mc.ids = drawIDs(rt)
		mc.clock = rapid.IntRange(0, 9).Draw(rt, "clock (9: records expiring during the sequence)") == 9
		mc.big = rapid.IntRange(0, 3).Draw(rt, "big (3: records around the maximum size)") == 3
		rt.Logf("ids: %s", strings.Join(quoteAll(mc.ids), ", "))
		actions := mc.actions()
		names := make([]string, 0, len(actions))
		for name := range actions {
			names = append(names, name)
		}
		slices.Sort(names)
		steps := rapid.IntRange(1, sequenceSteps()).Draw(rt, "steps")
		for mc.step = 1; mc.step <= steps; mc.step++ {
			actions[rapid.SampledFrom(names).Draw(rt, "call")]()
			mc.checkLoans()
		}
	})
}

func quoteAll(ids []string) []string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = quote(id)
	}
	return q
}

func closeAll(handles []*store) {
	for _, h := range handles {
		if h.closer != nil {
			h.closer.Close()
		}
	}
}

// empty deletes every record of the store of handles, as Iterate shows
// them, and reports whether it could: the store can iterate and is empty
// afterwards.
func (mc *machine) empty(handles []*store) bool {
	h := handles[0]
	if h.iterator == nil {
		return false
	}
	var ids []string
	if err := h.iterator.Iterate(mc.ctx, func(id string, _ sessionstore.Record) bool { ids = append(ids, id); return true }); err != nil {
		return false
	}
	for _, id := range ids {
		if err := h.Delete(mc.ctx, id); err != nil {
			return false
		}
	}
	n, err := sessionstore.Count(mc.ctx, h.Store)
	return err == nil && n == 0
}

// fail stops the sequence: what went wrong, and the sentence it breaks.
func (mc *machine) fail(sentence, format string, args ...any) {
	mc.rt.Helper()
	mc.rt.Fatalf("step %d: %s\n    breaks: %s", mc.step, fmt.Sprintf(format, args...), sentence)
}

// logf prints one call of the sequence.
func (mc *machine) logf(format string, args ...any) {
	mc.rt.Logf("step %d: %s", mc.step, fmt.Sprintf(format, args...))
}

// actions are the calls a sequence is made of, by name.
func (mc *machine) actions() map[string]func() {
	a := map[string]func(){
		"Load":   mc.load,
		"Save":   mc.save,
		"Delete": mc.delete,
	}
	p := mc.handles[0]
	if p.toucher != nil {
		a["Touch"] = mc.touch
	}
	if p.swapper != nil {
		a["CompareAndSwap"] = mc.swap
	}
	if p.iterator != nil {
		a["Iterate"] = mc.iterate
	}
	if p.countable() {
		a["Count"] = mc.count
	}
	if mc.s.restartable {
		a["Reopen"] = mc.reopen
	}
	a["Wait"] = mc.wait
	return a
}

// handle draws which handle the call goes through.
func (mc *machine) handle() (*store, string) {
	if len(mc.handles) == 1 {
		return mc.handles[0], ""
	}
	i := rapid.IntRange(0, len(mc.handles)-1).Draw(mc.rt, "handle")
	return mc.handles[i], fmt.Sprintf("[handle %d] ", i+1)
}

func (mc *machine) id() string {
	return mc.ids[rapid.IntRange(0, len(mc.ids)-1).Draw(mc.rt, "id")]
}

// drawIDs draws the ids of one sequence: one of a byte class, and ids that
// careless stores confuse with it (a trailing NUL or space, the last byte
// changed or cut, invalid UTF-8 dropped or replaced), and a plain one.
func drawIDs(rt *rapid.T) []string {
	base := rapid.Custom(func(rt *rapid.T) string {
		switch rapid.IntRange(0, 5).Draw(rt, "id class (0 ASCII, 1 NUL, 2 invalid UTF-8, 3 Latin-1, 4 long, 5 any bytes)") {
		case 0:
			return rapid.StringOfN(rapid.RuneFrom([]rune("abcXYZ019:_-. ")), 1, 8, -1).Draw(rt, "ASCII")
		case 1:
			return "a\x00" + rapid.StringOfN(rapid.RuneFrom([]rune("b\x00")), 0, 3, -1).Draw(rt, "after NUL")
		case 2:
			return "a" + string(rapid.SliceOfN(rapid.ByteRange(0x80, 0xff), 1, 4).Draw(rt, "invalid UTF-8"))
		case 3:
			return "caf" + string(rapid.SliceOfN(rapid.ByteRange(0xa0, 0xff), 1, 3).Draw(rt, "Latin-1"))
		case 4:
			n := rapid.IntRange(sessionstore.MaxIDLength-8, sessionstore.MaxIDLength).Draw(rt, "long id length")
			return strings.Repeat("k", n)
		}
		return string(rapid.SliceOfN(rapid.Byte(), 1, sessionstore.MaxIDLength).Draw(rt, "bytes"))
	}).Draw(rt, "id")
	cands := []string{
		base + "\x00", base + " ", base[:len(base)-1], base[:len(base)-1] + string(base[len(base)-1]^1),
		strings.ToValidUTF8(base, ""), strings.ToValidUTF8(base, "\ufffd"), strings.ToLower(base),
	}
	var ok []string
	for _, c := range cands {
		if c != "" && c != base && len(c) <= sessionstore.MaxIDLength && !contains(ok, c) {
			ok = append(ok, c)
		}
	}
	ids := []string{base}
	for range 2 {
		if len(ok) == 0 {
			break
		}
		i := rapid.IntRange(0, len(ok)-1).Draw(rt, "near id")
		ids = append(ids, ok[i])
		ok = append(ok[:i:i], ok[i+1:]...)
	}
	if !contains(ids, "x") {
		ids = append(ids, "x")
	}
	return ids
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// drawSize draws a data size: at and around every boundary. Sizes around
// the maximum come in one sequence in four, one time in four there, and at
// most maxBigWrites of them are written in a sequence (more is written as
// max+1, which a store refuses before sending anything): a few MiB cost a
// network store milliseconds each, and some databases stay slow on a
// collection that once held them.
func (mc *machine) drawSize(label string) int {
	if !mc.big || rapid.IntRange(0, 3).Draw(mc.rt, label+" class (3: around the maximum)") != 3 {
		sizes := []int{0, 1, 63, 64, 65, 3 << 10}
		return sizes[rapid.IntRange(0, len(sizes)-1).Draw(mc.rt, label+" (0, 1, 63, 64, 65, 3 KiB)")]
	}
	max := mc.s.maxSize()
	size := max - 1 + rapid.IntRange(0, 2).Draw(mc.rt, label+" (max-1, max, max+1)")
	if size > mc.m.maxSize {
		return size // refused before anything is sent
	}
	if mc.bigWrites == maxBigWrites {
		if mc.m.maxSize == math.MaxInt {
			return 3 << 10 // no maximum to refuse with: a small record
		}
		return max + 1
	}
	mc.bigWrites++
	return size
}

// maxBigWrites is how many records around the maximum size a sequence
// writes at most.
const maxBigWrites = 2

// data returns size bytes that no other write of the sequence writes: the
// step's number, then bytes of every value.
func (mc *machine) data(size int) []byte {
	if len(mc.s.bytes) < size {
		mc.s.bytes = payload("sequences", max(size, 2*minMaxDataSize))
	}
	b := bytes.Clone(mc.s.bytes[:size])
	copy(b, fmt.Sprintf("step %d|", mc.step))
	return b
}

// The expiries a sequence writes.
var (
	year2300    = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	year9999End = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	year10000   = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// drawExpiry draws an expiry, computed from now at the call.
func (mc *machine) drawExpiry() (expiry time.Time, label string) {
	n := 11
	if mc.clock {
		n = 12
	}
	switch rapid.IntRange(0, n-1).Draw(mc.rt, "expiry (0 an hour, 1 past, 2 zero, 3 now, 4 31 days, 5 MaxExpiry-1ns, 6 MaxExpiry, 7 MaxExpiry+1ns, 8 2300, 9 end of 9999, 10 year 10000, 11 soon)") {
	case 1:
		return time.Now().Add(-time.Minute), "a minute ago"
	case 2:
		return time.Time{}, "the zero time"
	case 3:
		return time.Now(), "now"
	case 4:
		return time.Now().Add(31 * 24 * time.Hour), "in 31 days"
	case 5:
		return sessionstore.MaxExpiry.Add(-1), "MaxExpiry-1ns"
	case 6:
		return sessionstore.MaxExpiry, "MaxExpiry"
	case 7:
		return sessionstore.MaxExpiry.Add(1), "MaxExpiry+1ns"
	case 8:
		return year2300, "2300"
	case 9:
		return year9999End, "the end of 9999"
	case 10:
		return year10000, "the year 10000"
	case 11:
		d := time.Duration(rapid.IntRange(30, 80).Draw(mc.rt, "soon (ms)")) * time.Millisecond
		return time.Now().Add(d), fmt.Sprintf("in %v", d)
	}
	return time.Now().Add(longLife), "in an hour"
}

// scribble changes every byte of a slice the store was given: the caller
// reuses it.
func scribble(b []byte) {
	for i := range b {
		b[i] ^= 0x5a
	}
}

func (mc *machine) checkLoans() {
	for _, l := range mc.loans() {
		if !bytes.Equal(l.data, l.want) {
			mc.fail(sentLoadOwned, "the Data %s returned is now %s: the store changed it", l.what, describe(l.data))
		}
	}
}

func (mc *machine) loans() []loan { return mc.loaned }

func (mc *machine) lend(data []byte, what string) {
	if len(data) == 0 {
		return
	}
	mc.loaned = append(mc.loaned, loan{data: data, want: bytes.Clone(data), what: what})
	if len(mc.loaned) > 8 {
		mc.loaned = mc.loaned[1:]
	}
}

// loadID loads id through h and checks the answer; it returns the record
// when the store found it.
func (mc *machine) loadID(h *store, via, id string) *modelRecord {
	r := mc.m.recs[id]
	start := time.Now()
	got, found, err := h.Load(mc.ctx, id)
	end := time.Now()
	mc.logf("%sLoad(%s) = found %v, %s, version %d, expiry %v, %v", via, quote(id), found, describe(got.Data), got.Version, got.Expiry, err)
	if err != nil {
		mc.fail(sentLoadGone, "Load(%s) = %v", quote(id), err)
	}
	switch st := mc.m.status(r, start, end); {
	case found && st == gone:
		if r == nil {
			if other := mc.m.writtenUnder(got.Data, id); other != "" {
				mc.fail(sentIDs, "Load(%s) found the data written under %s", quote(id), quote(other))
			}
			mc.fail(sentLoadGone, "Load(%s) found %s; want not found (live ids: %s)", quote(id), describe(got.Data), strings.Join(quoteAll(mc.m.ids()), ", "))
		}
		mc.fail(sentNeverEarly, "Load(%s) found a record expiring %v at %v; want not found", quote(id), r.expiry, start)
	case !found && st == live:
		mc.fail(sentNeverEarly, "Load(%s) = not found; want %s written by %s, expiring %v", quote(id), describe(r.data), r.writer, r.expiry)
	case !found:
		delete(mc.m.recs, id) // seen gone: it stays gone
		return nil
	}
	if problem, sent := mc.m.observe(id, r, got); problem != "" {
		mc.fail(sent, "Load(%s).%s", quote(id), problem)
	}
	mc.lend(got.Data, fmt.Sprintf("at step %d by Load(%s)", mc.step, quote(id)))
	return r
}

func (mc *machine) load() {
	h, via := mc.handle()
	mc.loadID(h, via, mc.id())
}

func (mc *machine) save() {
	h, via := mc.handle()
	id := mc.id()
	size := mc.drawSize("size")
	expiry, label := mc.drawExpiry()
	data := mc.data(size)
	buf := bytes.Clone(data)
	start := time.Now()
	err := h.Save(mc.ctx, id, buf, expiry)
	mc.logf("%sSave(%s, %d bytes, expiry %s) = %v", via, quote(id), size, label, err)
	if size > mc.m.maxSize {
		if !errors.Is(err, sessionstore.ErrTooLarge) {
			mc.fail(sentSaveTooLarge, "Save of %d bytes, over the maximum %d = %v; want an error wrapping ErrTooLarge", size, mc.m.maxSize, err)
		}
		return
	}
	if err != nil {
		mc.fail(sentSave, "Save(%s, %d bytes, expiry %s) = %v; want nil", quote(id), size, label, err)
	}
	scribble(buf)
	mc.m.write(id, data, expiry, start, fmt.Sprintf("Save at step %d", mc.step))
}

func (mc *machine) delete() {
	h, via := mc.handle()
	id := mc.id()
	err := h.Delete(mc.ctx, id)
	mc.logf("%sDelete(%s) = %v", via, quote(id), err)
	if err != nil {
		mc.fail(sentDelete, "Delete(%s) = %v; want nil", quote(id), err)
	}
	delete(mc.m.recs, id)
}

func (mc *machine) touch() {
	h, via := mc.handle()
	id := mc.id()
	expiry, label := mc.drawExpiry()
	r := mc.m.recs[id]
	start := time.Now()
	found, err := h.toucher.Touch(mc.ctx, id, expiry)
	end := time.Now()
	mc.logf("%sTouch(%s, expiry %s) = %v, %v", via, quote(id), label, found, err)
	if err != nil {
		mc.fail(sentTouch, "Touch(%s, expiry %s) = %v; want nil", quote(id), label, err)
	}
	switch st := mc.m.status(r, start, end); {
	case found && st == gone:
		mc.fail(sentTouch, "Touch(%s) = true; want false: no live record (live ids: %s)", quote(id), strings.Join(quoteAll(mc.m.ids()), ", "))
	case !found && st == live:
		mc.fail(sentTouch, "Touch(%s) = false; want true: %s wrote a record expiring %v", quote(id), r.writer, r.expiry)
	case !found:
		delete(mc.m.recs, id)
		return
	}
	if !start.Before(expiry) {
		delete(mc.m.recs, id)
		return
	}
	r.expiry = expiry
	r.touched = r.version != 0
}

// swap draws a CompareAndSwap: which version (0, the current one, a stale
// one, another id's, one more than the current, the largest) and which
// data (any size, the data stored, empty).
func (mc *machine) swap() {
	h, via := mc.handle()
	id := mc.id()
	r := mc.m.recs[id]
	var version uint64
	var which string
	kind := rapid.IntRange(0, 5).Draw(mc.rt, "version (0 zero, 1 current, 2 stale, 3 another id's, 4 current+1, 5 largest)")
	switch kind {
	case 0:
		which = "0"
	case 1, 4:
		if r != nil && (r.version == 0 || r.touched) {
			r = mc.loadID(h, via, id) // learn it, as the Manager does
		}
		which = "0 (no record)"
		if r != nil {
			version, which = r.version, "the current"
		}
	case 2:
		version, which = mc.versionOf(func(owner string, v uint64) bool { return owner == id && (r == nil || v != r.version) }), "a stale"
	case 3:
		version, which = mc.versionOf(func(owner string, v uint64) bool { return owner != id }), "another id's"
	case 5:
		version, which = math.MaxUint64, "the largest"
	}
	if which == "the current" && kind == 4 {
		version, which = version+1, "the current+1"
	}
	if version == 0 && which != "0" {
		which += ": 0, none seen"
	}
	var data []byte
	var size int
	switch rapid.IntRange(0, 2).Draw(mc.rt, "data (0 new, 1 empty, 2 as stored)") {
	case 0:
		size = mc.drawSize("size")
		data = mc.data(size)
	case 1:
		data = []byte{}
	case 2:
		if r != nil {
			data = bytes.Clone(r.data)
			size = len(data)
		}
	}
	expiry, label := mc.drawExpiry()
	buf := bytes.Clone(data)
	start := time.Now()
	ok, err := h.swapper.CompareAndSwap(mc.ctx, id, version, buf, expiry)
	end := time.Now()
	mc.logf("%sCompareAndSwap(%s, version %d (%s), %d bytes, expiry %s) = %v, %v", via, quote(id), version, which, size, label, ok, err)
	if size > mc.m.maxSize {
		if ok || !errors.Is(err, sessionstore.ErrTooLarge) {
			mc.fail(sentSwapTooLarge, "CompareAndSwap of %d bytes, over the maximum %d = %v, %v; want false and an error wrapping ErrTooLarge", size, mc.m.maxSize, ok, err)
		}
		return
	}
	if err != nil {
		mc.fail(sentSwap, "CompareAndSwap = %v; want nil", err)
	}
	st := mc.m.status(r, start, end)
	var want string // "win", "lose" or "" for either
	var sent string
	switch {
	case version == 0 && st == gone:
		want, sent = "win", sentSwapZero
	case version == 0 && st == live:
		want, sent = "lose", sentSwapZero
	case version == 0:
	case st == gone:
		want, sent = "lose", sentSwap
	case r.version == 0 || version != r.version:
		// A version written over since, another id's or one the store never
		// gave: never the current one, which the model has not seen yet.
		if r.version != 0 || mc.m.seen[version] != "" {
			want, sent = "lose", sentSwap
		}
	case st == live && !r.touched:
		want, sent = "win", sentSwap
	}
	switch {
	case want == "win" && !ok:
		mc.fail(sent, "CompareAndSwap(%s) over %s version %d = false; want true (record: %s)", quote(id), which, version, mc.describe(r))
	case want == "lose" && ok:
		mc.fail(sent, "CompareAndSwap(%s) over %s version %d = true; want false (record: %s)", quote(id), which, version, mc.describe(r))
	case ok:
		scribble(buf)
		mc.m.write(id, data, expiry, start, fmt.Sprintf("CompareAndSwap at step %d", mc.step))
	case version == 0:
		// Lost: a live record was there after all.
	case st == gone:
		delete(mc.m.recs, id)
	case version == r.version && r.touched:
		r.version = 0 // Touch changed the version (or the record expired)
	case version == r.version && st == either:
		delete(mc.m.recs, id) // lost over the right version: it had expired
	}
}

// versionOf returns a version the store showed that keep accepts, or 0.
func (mc *machine) versionOf(keep func(owner string, v uint64) bool) uint64 {
	var vs []uint64
	for v, owner := range mc.m.seen {
		if keep(owner, v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	return vs[rapid.IntRange(0, len(vs)-1).Draw(mc.rt, "which seen version")]
}

func (mc *machine) describe(r *modelRecord) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("%s written by %s, expiring %v, version %d", describe(r.data), r.writer, r.expiry, r.version)
}

func (mc *machine) iterate() {
	h, via := mc.handle()
	visited := map[string]sessionstore.Record{}
	var dup string
	start := time.Now()
	err := h.iterator.Iterate(mc.ctx, func(id string, rec sessionstore.Record) bool {
		if _, ok := visited[id]; ok {
			dup = id
		}
		visited[id] = rec
		return true
	})
	end := time.Now()
	mc.logf("%sIterate visited %d records, %v", via, len(visited), err)
	if err != nil {
		mc.fail(sentIterate, "Iterate = %v", err)
	}
	if dup != "" {
		mc.fail(sentIterate, "Iterate visited %s twice", quote(dup))
	}
	for id, rec := range visited {
		r := mc.m.recs[id]
		switch mc.m.status(r, start, end) {
		case gone:
			if r == nil {
				mc.fail(sentIterate, "Iterate visited %s (%s), which is not a live record (live ids: %s)", quote(id), describe(rec.Data), strings.Join(quoteAll(mc.m.ids()), ", "))
			}
			mc.fail(sentIterate, "Iterate visited %s, expired at %v", quote(id), r.expiry)
		case live:
			if problem, sent := mc.m.observe(id, r, rec); problem != "" {
				if sent == sentData || sent == sentIDs {
					sent = sentIterate
				}
				mc.fail(sent, "Iterate gave %s: %s", quote(id), problem)
			}
		}
	}
	for id, r := range mc.m.recs {
		if _, ok := visited[id]; !ok && mc.m.status(r, start, end) == live {
			mc.fail(sentIterate, "Iterate did not visit %s, written by %s, expiring %v", quote(id), r.writer, r.expiry)
		}
	}
}

func (mc *machine) count() {
	h, via := mc.handle()
	start := time.Now()
	n, err := sessionstore.Count(mc.ctx, h.Store)
	end := time.Now()
	mc.logf("%sCount() = %d, %v", via, n, err)
	sure, maybe := mc.m.liveCount(start, end)
	if err != nil || n < sure || n > sure+maybe {
		want := fmt.Sprint(sure)
		if maybe > 0 {
			want = fmt.Sprintf("%d to %d", sure, sure+maybe)
		}
		mc.fail(sentCount, "Count() = %d, %v; want %s, nil (live ids: %s)", n, err, want, strings.Join(quoteAll(mc.m.ids()), ", "))
	}
}

// reopen closes a handle and opens the data again, as a restart does.
func (mc *machine) reopen() {
	i := rapid.IntRange(0, len(mc.handles)-1).Draw(mc.rt, "handle")
	h := mc.handles[i]
	if h.closer != nil {
		if err := h.closer.Close(); err != nil {
			mc.fail("io.Closer", "Close = %v", err)
		}
	}
	again := mc.s.openAgain(mc.t, h)
	mc.logf("[handle %d] closed and opened again", i+1)
	if again == nil {
		mc.rt.Fatalf("Harness.OpenAgain returned nil after Close, where it did not for the probe")
	}
	mc.handles[i] = again
}

// wait sleeps until the next record expiring within 200 ms is surely gone.
func (mc *machine) wait() {
	var next time.Time
	now := time.Now()
	for _, r := range mc.m.recs {
		if r.expiry.After(now.Add(-mc.m.precision-clockSlack)) && r.expiry.Before(now.Add(200*time.Millisecond)) &&
			(next.IsZero() || r.expiry.Before(next)) {
			next = r.expiry
		}
	}
	if next.IsZero() {
		return
	}
	until := next.Add(mc.m.precision + clockSlack + time.Millisecond)
	mc.logf("wait %v, for a record's expiry to pass", time.Until(until).Round(time.Millisecond))
	time.Sleep(time.Until(until))
}
