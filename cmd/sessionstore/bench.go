package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/storeurl"
)

// The operations bench measures, in the order it prints them.
var benchOps = []string{"Load", "Save", "Touch", "CompareAndSwap"}

// benchConfig is what bench was asked to do.
type benchConfig struct {
	Store       string        `json:"store"`
	Backend     string        `json:"backend"`
	Concurrency int           `json:"concurrency"`
	Sessions    int           `json:"sessions"`
	Size        int           `json:"size"`
	Duration    time.Duration `json:"duration_ns,omitempty"`
	Count       int64         `json:"count,omitempty"`
	Ops         []string      `json:"ops"`
}

// opStats is the measure of one operation.
type opStats struct {
	Op         string  `json:"op"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	Throughput float64 `json:"ops_per_second"`
	P50        int64   `json:"p50_ns"`
	P90        int64   `json:"p90_ns"`
	P99        int64   `json:"p99_ns"`
	Max        int64   `json:"max_ns"`
	// Swapped counts the compare-and-swaps that won (the others lost a
	// race with another worker on the same session).
	Swapped *int `json:"swapped,omitempty"`

	lat []time.Duration // sorted
}

// benchReport is what bench prints with -json.
type benchReport struct {
	Config     benchConfig `json:"config"`
	Elapsed    float64     `json:"elapsed_seconds"`
	Throughput float64     `json:"ops_per_second"`
	Ops        []*opStats  `json:"ops"`
	FirstError string      `json:"first_error,omitempty"`
}

func runBench(e *env, args []string) error {
	fs := e.flags()
	c := benchConfig{}
	fs.IntVar(&c.Concurrency, "c", 8, "run `n` workers at once")
	fs.IntVar(&c.Sessions, "sessions", 1000, "spread the operations over `n` sessions, saved first")
	fs.IntVar(&c.Size, "size", 1024, "data size of each session in `bytes`")
	fs.DurationVar(&c.Duration, "d", 10*time.Second, "run for this `duration` (unless -n)")
	fs.Int64Var(&c.Count, "n", 0, "run this `many` operations in all instead of for -d")
	ops := fs.String("ops", strings.Join(benchOps, ","), "the `operations` to mix, of "+strings.Join(benchOps, ", ")+"; those the store lacks are left out")
	asJSON := fs.Bool("json", false, "print the results as JSON instead of a table")
	htmlFile := fs.String("html", "", "also write a self-contained HTML report with a latency histogram per operation to `file`")
	timeout := e.timeoutFlags(fs, 0, "give up after this `duration`, connecting and removing the sessions included (default -d plus two minutes)")
	pos, err := e.parse(fs, args, `Saves -sessions sessions of -size bytes in a prefix, table or collection of
its own (named sessionstore_bench_*), then runs -c workers, each picking an
operation of -ops in turn and a session at random, for -d or -n operations.
CompareAndSwap is measured alone, over the version of a Load before it.
Prints the latency percentiles and throughput of each operation. Removes
everything it saved, also when stopped (Ctrl-C, -timeout). The -timeout
default is -d plus two minutes.`)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one URL, got %s", pl(len(pos), "argument"))
	case c.Concurrency < 1 || c.Sessions < 1 || c.Size < 0 || c.Count < 0 || (c.Count == 0 && c.Duration <= 0):
		return usagef("-c and -sessions must be at least 1, -size and -n at least 0, -d positive")
	}
	if c.Count > 0 {
		c.Duration = 0
	}
	if *timeout == 0 {
		*timeout = c.Duration + 2*time.Minute
		if c.Count > 0 {
			*timeout = time.Hour
		}
	}
	ctx, cancel := e.withTimeout(*timeout)
	defer cancel()

	ns := storeurl.KeyPrefix(pos[0], "sessionstore_bench_"+strings.ToLower(rand.Text()[:8]))
	st, err := e.open(ctx, "store", pos[0], storeurl.Options{Namespace: ns, Prepare: true, Logger: quiet})
	if err != nil {
		return timedOut(ctx, err)
	}
	defer closeStore(st)
	c.Store, c.Backend = st.Shown, st.Backend
	if c.Ops, err = chooseOps(*ops, st.Store); err != nil {
		return err
	}
	if c.Size > st.MaxDataSize && st.MaxDataSize > 0 {
		return usagef("-size %d is over the store's maximum of %d bytes", c.Size, st.MaxDataSize)
	}

	b := &bencher{e: e, st: st.Store, cfg: c}
	defer b.cleanup(st)
	if err := b.seed(ctx); err != nil {
		return timedOut(ctx, fmt.Errorf("%s: save the sessions: %w", st.Shown, err))
	}
	rep := b.run(ctx)
	if rep.Throughput == 0 && rep.FirstError != "" {
		return timedOut(ctx, fmt.Errorf("%s: every operation failed: %s", st.Shown, rep.FirstError))
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printBench(e, rep)
	}
	if *htmlFile != "" {
		if err := os.WriteFile(*htmlFile, []byte(htmlReport(rep)), 0o644); err != nil {
			return fmt.Errorf("write the HTML report: %w", err)
		}
		fmt.Fprintf(e.stderr, "report written to %s\n", *htmlFile)
	}
	if ctx.Err() != nil {
		return failedError{fmt.Sprintf("stopped early: %v", context.Cause(ctx))}
	}
	return nil
}

// chooseOps parses -ops, keeping those st implements.
func chooseOps(list string, st sessionstore.Store) ([]string, error) {
	var out []string
	for op := range strings.SplitSeq(list, ",") {
		op = strings.TrimSpace(op)
		i := slices.IndexFunc(benchOps, func(o string) bool { return strings.EqualFold(o, op) })
		if i < 0 {
			return nil, usagef("-ops: unknown operation %q; want some of %s", op, strings.Join(benchOps, ","))
		}
		op = benchOps[i]
		switch op {
		case "Touch":
			if _, ok := st.(sessionstore.Toucher); !ok {
				continue
			}
		case "CompareAndSwap":
			if _, ok := st.(sessionstore.Swapper); !ok {
				continue
			}
		}
		if !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		return nil, usagef("-ops %q: the store implements none of them", list)
	}
	return out, nil
}

// bencher runs one benchmark.
type bencher struct {
	e    *env
	st   sessionstore.Store
	cfg  benchConfig
	data []byte
}

func (b *bencher) id(i int) string { return "bench-" + strconv.Itoa(i) }

func (b *bencher) expiry() time.Time { return time.Now().Add(time.Hour) }

// seed saves the sessions the operations work on.
func (b *bencher) seed(ctx context.Context) error {
	b.data = make([]byte, b.cfg.Size)
	rand.Read(b.data)
	p := b.e.newProgress("save sessions", "sessions", int64(b.cfg.Sessions))
	defer p.finish()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, b.cfg.Concurrency)
	for range b.cfg.Concurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.cfg.Sessions); i = next.Add(1) - 1 {
				if err := b.st.Save(ctx, b.id(int(i)), b.data, b.expiry()); err != nil {
					errs <- err
					return
				}
				p.add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// sample is one worker's measures.
type sample struct {
	lat     map[string][]time.Duration
	errs    map[string]int
	swapped int
	first   error
}

// run runs the workers and measures them.
func (b *bencher) run(ctx context.Context) *benchReport {
	total := int64(-1)
	if b.cfg.Count > 0 {
		total = b.cfg.Count
	}
	label := "operations"
	p := b.e.newProgress("bench", label, total)
	rctx := ctx
	if b.cfg.Duration > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, b.cfg.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	samples := make([]*sample, b.cfg.Concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range b.cfg.Concurrency {
		s := &sample{lat: map[string][]time.Duration{}, errs: map[string]int{}}
		samples[w] = s
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for i := w; ; i++ {
				if b.cfg.Count > 0 && issued.Add(1) > b.cfg.Count || rctx.Err() != nil {
					return
				}
				op := b.cfg.Ops[i%len(b.cfg.Ops)]
				id := b.id(rng.IntN(b.cfg.Sessions))
				d, err := b.one(rctx, op, id, s)
				if err != nil {
					if rctx.Err() != nil {
						return // the run ended during the call: not the server's error
					}
					s.errs[op]++
					if s.first == nil {
						s.first = fmt.Errorf("%s: %w", op, err)
					}
					continue
				}
				s.lat[op] = append(s.lat[op], d)
				p.add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	p.finish()
	return b.report(samples, elapsed)
}

// one runs op on id and returns how long the measured call took.
func (b *bencher) one(ctx context.Context, op, id string, s *sample) (time.Duration, error) {
	var start time.Time
	var err error
	switch op {
	case "Load":
		start = time.Now()
		_, _, err = b.st.Load(ctx, id)
	case "Save":
		start = time.Now()
		err = b.st.Save(ctx, id, b.data, b.expiry())
	case "Touch":
		start = time.Now()
		_, err = b.st.(sessionstore.Toucher).Touch(ctx, id, b.expiry())
	case "CompareAndSwap":
		rec, _, lerr := b.st.Load(ctx, id)
		if lerr != nil {
			return 0, fmt.Errorf("load before: %w", lerr)
		}
		start = time.Now()
		var ok bool
		ok, err = b.st.(sessionstore.Swapper).CompareAndSwap(ctx, id, rec.Version, b.data, b.expiry())
		if ok {
			s.swapped++
		}
	}
	return time.Since(start), err
}

func (b *bencher) report(samples []*sample, elapsed time.Duration) *benchReport {
	rep := &benchReport{Config: b.cfg, Elapsed: elapsed.Seconds()}
	n := 0
	for _, op := range b.cfg.Ops {
		o := &opStats{Op: op}
		swapped := 0
		for _, s := range samples {
			o.lat = append(o.lat, s.lat[op]...)
			o.Errors += s.errs[op]
			swapped += s.swapped
			if s.first != nil && rep.FirstError == "" {
				rep.FirstError = storeurl.OneLine(s.first)
			}
		}
		slices.Sort(o.lat)
		o.Count = len(o.lat)
		n += o.Count
		o.Throughput = float64(o.Count) / elapsed.Seconds()
		if o.Count > 0 {
			o.P50, o.P90, o.P99 = int64(pct(o.lat, 50)), int64(pct(o.lat, 90)), int64(pct(o.lat, 99))
			o.Max = int64(o.lat[len(o.lat)-1])
		}
		if op == "CompareAndSwap" {
			o.Swapped = &swapped
		}
		rep.Ops = append(rep.Ops, o)
	}
	rep.Throughput = float64(n) / elapsed.Seconds()
	return rep
}

// pct returns the p-th percentile of sorted: the smallest value at least p
// percent of the values are at or below.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// cleanup removes what the benchmark saved, whatever stopped it.
func (b *bencher) cleanup(st *storeurl.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := st.Drop(ctx)
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil
		for i := range b.cfg.Sessions {
			if derr := b.st.Delete(ctx, b.id(i)); derr != nil && err == nil {
				err = derr
			}
		}
	}
	if err != nil {
		fmt.Fprintf(b.e.stderr, "sessionstore bench: remove the benchmark's sessions from %s: %s\n", st.Shown, storeurl.OneLine(err))
	}
}

func printBench(e *env, rep *benchReport) {
	c := rep.Config
	bound := c.Duration.String()
	if c.Count > 0 {
		bound = plural(c.Count, "operation")
	}
	fmt.Fprintf(e.stdout, "bench %s (%s): %s, %s of %s, %s\n\n",
		c.Store, c.Backend, pl(c.Concurrency, "worker"), pl(c.Sessions, "session"), pl(c.Size, "byte"), bound)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcount\terrors\tops/s\tp50\tp90\tp99\tmax\t")
	for _, o := range rep.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t\n", o.Op, o.Count, o.Errors, o.Throughput,
			dur(o.P50), dur(o.P90), dur(o.P99), dur(o.Max))
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\n%.0f operations/s in all over %.1fs", rep.Throughput, rep.Elapsed)
	for _, o := range rep.Ops {
		if o.Swapped != nil && o.Count > 0 {
			fmt.Fprintf(e.stdout, "; %d%% of the compare-and-swaps won", *o.Swapped*100/o.Count)
		}
	}
	fmt.Fprintln(e.stdout)
	if rep.FirstError != "" {
		fmt.Fprintf(e.stdout, "first error: %s\n", rep.FirstError)
	}
}

// dur prints a latency with three significant digits.
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}
