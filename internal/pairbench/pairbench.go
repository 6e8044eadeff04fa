// Package pairbench measures a request's load+save pair on several stores
// side by side. Its one benchmark runs every contender's pair in turn within
// each iteration, rotating which goes first, and reports each one's median
// time per pair and its ratio to the contender named "raw". On a busy
// machine, where separate benchmarks meet different load, this is the figure
// to compare: all contenders see the same moments, and the median ignores
// the stalls.
package pairbench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Contender is one way of loading and saving the session under id.
type Contender struct {
	Name string // "raw" is the baseline the others are divided by
	Pair func(ctx context.Context, id string) error
}

// Interleaved runs the sub-benchmarks serial and parallel over contenders.
func Interleaved(b *testing.B, contenders []Contender) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		const id = "interleaved-session-id-0123456789abcdef0123456789ab"
		t := newTimings(len(contenders))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := t.round(ctx, contenders, i, id); err != nil {
				b.Fatal(err)
			}
		}
		t.report(b, contenders)
	})
	b.Run("parallel", func(b *testing.B) {
		var seq atomic.Int64
		t := newTimings(len(contenders))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprintf("interleaved-parallel-id-%032d", seq.Add(1))
			for i := 0; pb.Next(); i++ {
				if err := t.round(ctx, contenders, i, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		t.report(b, contenders)
	})
}

// timings collects the duration of every pair of each contender.
type timings struct {
	mu    sync.Mutex
	spent [][]time.Duration
}

func newTimings(n int) *timings { return &timings{spent: make([][]time.Duration, n)} }

// round runs every contender's pair once on id, starting with the i-th.
func (t *timings) round(ctx context.Context, cs []Contender, i int, id string) error {
	for k := range cs {
		c := (i + k) % len(cs)
		start := time.Now()
		if err := cs[c].Pair(ctx, id); err != nil {
			return fmt.Errorf("%s: %w", cs[c].Name, err)
		}
		d := time.Since(start)
		t.mu.Lock()
		t.spent[c] = append(t.spent[c], d)
		t.mu.Unlock()
	}
	return nil
}

// report reports the median pair time of each contender and its ratio to
// raw's.
func (t *timings) report(b *testing.B, cs []Contender) {
	medians := make([]float64, len(cs))
	var raw float64
	for c, con := range cs {
		if len(t.spent[c]) == 0 {
			return
		}
		slices.Sort(t.spent[c])
		medians[c] = float64(t.spent[c][len(t.spent[c])/2])
		if con.Name == "raw" {
			raw = medians[c]
		}
	}
	for c, con := range cs {
		b.ReportMetric(medians[c], con.Name+"-p50-ns/pair")
		if con.Name != "raw" && raw > 0 {
			b.ReportMetric(medians[c]/raw, con.Name+"/raw")
		}
	}
}
