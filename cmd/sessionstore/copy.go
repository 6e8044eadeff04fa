package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
)

// copyTimeout bounds a whole copy by default.
const copyTimeout = time.Hour

// copyStats counts what copy did with each record of the source.
type copyStats struct {
	copied  atomic.Int64 // written to the destination
	kept    atomic.Int64 // already in the destination, left alone
	expired atomic.Int64 // expired before its turn came
	gone    atomic.Int64 // deleted from the source while it was being copied
}

func runCopy(e *env, args []string) error {
	fs := e.flags()
	overwrite := fs.Bool("overwrite", false, "overwrite records already in TO (by default they are kept: they are newer while the migrate wrapper runs)")
	workers := fs.Int("workers", 8, "copy `n` records at a time")
	timeout := e.timeoutFlags(fs, copyTimeout, "give up after this `duration`, connecting included")
	pos, err := e.parse(fs, args, `Copies every live record of FROM (sessions, and the indexes of their owners)
to TO under the same key with the same data and expiry. TO's table or indexes
are created when missing. A record already in TO is kept unless -overwrite,
so running copy again is safe and never undoes a newer write. A record
deleted from FROM while it is being copied is deleted from TO too. FROM must
be able to list its keys: memcached cannot.

To move a running application without logging anyone out: deploy it with
the migrate wrapper (reads try TO, then FROM; writes go to TO; deletes go to
both), run copy, then deploy it over TO alone. See the README.`)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want FROM and TO, got %s", pl(len(pos), "argument"))
	}
	if *workers < 1 {
		return usagef("-workers %d: want at least 1", *workers)
	}
	if err := refuseMemory("copy", pos...); err != nil {
		return err
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()
	from, err := e.open(ctx, "from", pos[0], storeurl.Options{})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(from)
	it, ok := from.Store.(sessionstore.Iterator)
	if !ok {
		return fmt.Errorf("from %s: %s cannot list its keys, so copy cannot read it: %w; move with the migrate wrapper alone and let the sessions expire from it",
			from.Shown, from.Backend, errors.ErrUnsupported)
	}
	to, err := e.open(ctx, "to", pos[1], storeurl.Options{Prepare: true})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(to)
	if from.Shown == to.Shown && from.Namespace == to.Namespace {
		return usagef("FROM and TO are the same store")
	}

	total := int64(-1)
	if _, ok := from.Store.(sessionstore.Counter); ok {
		if n, err := sessionstore.Count(ctx, from.Store); err == nil {
			total = int64(n)
		}
	}
	p := e.newProgress("copy", "records", total)
	c := &copier{from: from.Store, to: to.Store, overwrite: *overwrite}
	c.swapper, _ = to.Store.(sessionstore.Swapper)
	err = c.run(ctx, it, *workers, p.add)
	p.finish()
	summary := c.summary(from.Shown, to.Shown)
	if err != nil {
		return timedOut(ctx, fmt.Errorf("copy stopped (%s): %w", summary, err))
	}
	fmt.Fprintln(e.stdout, summary)
	return nil
}

// copier copies records from one store to another.
type copier struct {
	from, to  sessionstore.Store
	swapper   sessionstore.Swapper // to's, or nil
	overwrite bool
	stats     copyStats
}

type item struct {
	key string
	rec sessionstore.Record
}

// run walks the source and copies each record with n workers, calling done
// after each record.
func (c *copier) run(ctx context.Context, it sessionstore.Iterator, n int, done func(int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	items := make(chan item)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for x := range items {
				if err := c.one(ctx, x.key, x.rec); err != nil {
					cancel(fmt.Errorf("%q: %w", x.key, err))
					return
				}
				done(1)
			}
		})
	}
	err := it.Iterate(ctx, func(key string, rec sessionstore.Record) bool {
		rec.Data = bytes.Clone(rec.Data) // the walk may reuse its buffers
		select {
		case items <- item{key, rec}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(items)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if err != nil {
		return fmt.Errorf("walk the source: %w", err)
	}
	return nil
}

// one copies one record. Unless overwriting, it writes only where TO has no
// live record (with compare-and-swap when TO has it), and afterwards checks
// that the record is still in FROM, deleting the copy if not: an
// application on the migrate wrapper deletes from FROM, then TO, so a
// session it ends during the copy is never brought back.
func (c *copier) one(ctx context.Context, key string, rec sessionstore.Record) error {
	if !rec.Expiry.After(time.Now()) {
		c.stats.expired.Add(1)
		return nil
	}
	switch {
	case c.overwrite:
		if err := c.to.Save(ctx, key, rec.Data, rec.Expiry); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	case c.swapper != nil:
		swapped, err := c.swapper.CompareAndSwap(ctx, key, 0, rec.Data, rec.Expiry)
		if err != nil {
			return fmt.Errorf("compare-and-swap: %w", err)
		}
		if !swapped {
			c.stats.kept.Add(1)
			return nil
		}
	default:
		_, found, err := c.to.Load(ctx, key)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if found {
			c.stats.kept.Add(1)
			return nil
		}
		if err := c.to.Save(ctx, key, rec.Data, rec.Expiry); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	_, found, err := c.from.Load(ctx, key)
	if err != nil {
		return fmt.Errorf("load the source again: %w", err)
	}
	if !found && rec.Expiry.After(time.Now()) {
		if err := c.to.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete a record deleted from the source: %w", err)
		}
		c.stats.gone.Add(1)
		return nil
	}
	c.stats.copied.Add(1)
	return nil
}

func (c *copier) summary(from, to string) string {
	s := &c.stats
	msg := fmt.Sprintf("copied %s from %s to %s", plural(s.copied.Load(), "record"), from, to)
	if n := s.kept.Load(); n > 0 {
		msg += fmt.Sprintf("; %d already there, kept", n)
	}
	if n := s.expired.Load(); n > 0 {
		msg += fmt.Sprintf("; %d expired first", n)
	}
	if n := s.gone.Load(); n > 0 {
		msg += fmt.Sprintf("; %d deleted from the source meanwhile", n)
	}
	return msg
}
