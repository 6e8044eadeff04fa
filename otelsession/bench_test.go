package otelsession_test

import (
	"context"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/otelsession"
)

// batch is how many calls one timing covers, so that reading the clock
// (tens of nanoseconds on some machines) does not weigh on the figures.
const batch = 200

// BenchmarkWrapped measures Load and Save on the memory store, bare and
// wrapped with no provider set (OpenTelemetry's global providers, which
// this test binary never sets), side by side: each iteration times a batch
// of calls on each in turn, and the medians per call are reported, with
// their difference, the cost of the instrumentation:
//
//	go test -run '^$' -bench Wrapped -benchmem ./otelsession/
func BenchmarkWrapped(b *testing.B) {
	bare := memory.New(memory.Options{})
	b.Cleanup(func() { bare.Close() })
	wrapped, err := otelsession.WrapStore(bare, otelsession.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchSideBySide(b, bare, wrapped, "no-provider")
}

// benchSideBySide runs Load and Save on bare and wrapped in turn and reports
// the median ns per call of each and their difference.
func benchSideBySide(b *testing.B, bare, wrapped sessionstore.Store, name string) {
	benchSideBySideCtx(b, context.Background(), bare, wrapped, name)
}

func benchSideBySideCtx(b *testing.B, ctx context.Context, bare, wrapped sessionstore.Store, name string) {
	data := make([]byte, 200)
	exp := time.Now().Add(time.Hour)
	if err := bare.Save(ctx, "id", data, exp); err != nil {
		b.Fatal(err)
	}
	calls := map[string]func(s sessionstore.Store){
		"Load": func(s sessionstore.Store) { s.Load(ctx, "id") },
		"Save": func(s sessionstore.Store) { s.Save(ctx, "id", data, exp) },
	}
	for _, op := range []string{"Load", "Save"} {
		call := calls[op]
		b.Run(op, func(b *testing.B) {
			stores := []sessionstore.Store{bare, wrapped}
			var spent [2][]float64
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				for k := range 2 {
					c := (i + k) % 2 // alternate which goes first
					start := time.Now()
					for range batch {
						call(stores[c])
					}
					spent[c] = append(spent[c], float64(time.Since(start).Nanoseconds())/batch)
				}
			}
			med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
			mb, mw := med(spent[0]), med(spent[1])
			b.ReportMetric(mb, "bare-ns/call")
			b.ReportMetric(mw, name+"-ns/call")
			b.ReportMetric(mw-mb, "added-ns/call")
		})
	}
}

// BenchmarkWrappedSDK is BenchmarkWrapped with the real SDK: every call
// under a sampled parent span, its span batched to an exporter (an
// in-memory one, emptied as it goes) and its measurements aggregated for a
// reader.
//
//	go test -run '^$' -bench WrappedSDK -benchmem ./otelsession/
func BenchmarkWrappedSDK(b *testing.B) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	stop := make(chan struct{})
	emptied := make(chan struct{})
	go func() { // keep the exporter from growing without bound
		defer close(emptied)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				exporter.Reset()
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-emptied })

	bare := memory.New(memory.Options{})
	b.Cleanup(func() { bare.Close() })
	wrapped, err := otelsession.WrapStore(bare, otelsession.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	benchSideBySideCtx(b, ctx, bare, wrapped, "sdk")
}
