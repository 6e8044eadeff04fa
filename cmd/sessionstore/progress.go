package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// plainInterval is how often progress is printed as a plain line when
// stderr is not a terminal.
const plainInterval = 5 * time.Second

// progress shows how far a long command got: a bar redrawn in place on a
// terminal, else a plain line every plainInterval (none for a short run).
// Counting is one atomic add; the display reads the count on its own ticks.
type progress struct {
	bar *progressbar.ProgressBar // on a terminal

	n    atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// newProgress starts showing the progress of what over total items; total
// is -1 when unknown. label says what an item is.
func (e *env) newProgress(what, label string, total int64) *progress {
	p := &progress{stop: make(chan struct{})}
	interval := plainInterval
	if e.terminal {
		interval = 100 * time.Millisecond
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(label),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
	}
	p.done.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				n := p.n.Load()
				switch {
				case p.bar != nil:
					p.bar.Set64(n)
				case total >= 0:
					fmt.Fprintf(e.stderr, "%s: %d of %d %s\n", what, n, total, label)
				default:
					fmt.Fprintf(e.stderr, "%s: %s\n", what, plural(n, strings.TrimSuffix(label, "s")))
				}
			}
		}
	})
	return p
}

// add counts n more items done.
func (p *progress) add(n int) { p.n.Add(int64(n)) }

// finish stops the display; the command then prints its own summary.
func (p *progress) finish() {
	p.once.Do(func() {
		close(p.stop)
		p.done.Wait()
		if p.bar != nil {
			p.bar.Finish()
			p.bar.Clear()
		}
	})
}
