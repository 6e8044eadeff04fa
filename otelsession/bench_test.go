package otelsession_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

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
	tp, mp := benchSDK(b)
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

// BenchmarkObserver measures requests through a Manager over the memory
// store, without an Observer and with the one of NewObserver with no
// provider set, side by side as BenchmarkWrapped does. A round is two
// requests of one session, one that changes it and one that reads it:
// three steps (open, save, open). The added cost is reported per step.
//
//	go test -run '^$' -bench Observer -benchmem ./otelsession/
func BenchmarkObserver(b *testing.B) {
	store := memory.New(memory.Options{})
	b.Cleanup(func() { store.Close() })
	bare, observed := sessionstore.New(store), sessionstore.New(store)
	o, err := otelsession.NewObserver(otelsession.Options{})
	if err != nil {
		b.Fatal(err)
	}
	observed.Observer = o
	ctx := context.Background()
	benchManagers(b, [2]func(){requests(b, ctx, bare), requests(b, ctx, observed)}, "no-provider")
}

// BenchmarkInstrumentSDK is BenchmarkObserver with the Manager and its store
// instrumented by Instrument with the real SDK, each request under a sampled
// span: its spans batched to an exporter (an in-memory one, emptied as it
// goes) and its measurements aggregated for a reader, as a Prometheus
// exporter's are until it is scraped.
//
//	go test -run '^$' -bench InstrumentSDK -benchmem ./otelsession/
func BenchmarkInstrumentSDK(b *testing.B) {
	tp, mp := benchSDK(b)
	store := memory.New(memory.Options{})
	b.Cleanup(func() { store.Close() })
	bare, observed := sessionstore.New(store), sessionstore.New(store)
	if err := otelsession.Instrument(observed, otelsession.Options{TracerProvider: tp, MeterProvider: mp}); err != nil {
		b.Fatal(err)
	}
	ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	benchManagers(b, [2]func(){requests(b, ctx, bare), requests(b, ctx, observed)}, "sdk")
}

// BenchmarkInstrumentPrometheus is BenchmarkObserver with the Manager and
// its store instrumented by Instrument with metrics only, read the way the
// OpenTelemetry Prometheus exporter reads them (as cmd/demo -metrics serves
// them), and no tracing: what an application that exports metrics alone pays.
//
// The reader is the SDK's ManualReader: the Prometheus exporter is one
// (prometheus.New wraps sdkmetric.NewManualReader with its default,
// cumulative temporality) plus a collector that works only when /metrics is
// scraped, so a request pays the same. The exporter itself is not imported:
// the Prometheus client and the 8 modules it needs would otherwise be in the
// root go.mod, and so in the module graph of every program using this
// library (docs/releasing.md). cmd/demo's tests run the real exporter.
//
//	go test -run '^$' -bench InstrumentPrometheus -benchmem ./otelsession/
func BenchmarkInstrumentPrometheus(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { mp.Shutdown(context.Background()) })
	store := memory.New(memory.Options{})
	b.Cleanup(func() { store.Close() })
	bare, observed := sessionstore.New(store), sessionstore.New(store)
	if err := otelsession.Instrument(observed, otelsession.Options{MeterProvider: mp, TracerProvider: tracenoop.NewTracerProvider()}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	benchManagers(b, [2]func(){requests(b, ctx, bare), requests(b, ctx, observed)}, "prometheus")
}

// benchManagers runs rounds[0] (bare) and rounds[1] (observed) in turn and
// reports the median ns per step of each and their difference.
func benchManagers(b *testing.B, rounds [2]func(), name string) {
	const steps = 3
	var spent [2][]float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range 2 {
			c := (i + k) % 2 // alternate which goes first
			start := time.Now()
			for range batch / 10 {
				rounds[c]()
			}
			spent[c] = append(spent[c], float64(time.Since(start).Nanoseconds())/(batch/10))
		}
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	mb, mw := med(spent[0]), med(spent[1])
	b.ReportMetric(mb/steps, "bare-ns/step")
	b.ReportMetric(mw/steps, name+"-ns/step")
	b.ReportMetric((mw-mb)/steps, "added-ns/step")
	ab, aw := testing.AllocsPerRun(20, rounds[0]), testing.AllocsPerRun(20, rounds[1])
	b.ReportMetric((aw-ab)/steps, "added-allocs/step")
}

// BenchmarkObserverCalls measures what an instrumented Manager adds to a
// step and to an event with no provider set: the Observer's calls alone,
// in a request's context.
func BenchmarkObserverCalls(b *testing.B) {
	o, err := otelsession.NewObserver(otelsession.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := httptest.NewRequest("GET", "/", nil).Context()
	b.Run("step", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sctx, end := o.Begin(ctx, sessionstore.StepSave)
			_ = sctx
			end(nil)
		}
	})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.Event(ctx, sessionstore.EventCreated)
		}
	})
}

// benchSDK returns the real SDK's providers: spans batched to an in-memory
// exporter emptied as it goes, measurements aggregated for a manual reader.
func benchSDK(b *testing.B) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
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
	return tp, mp
}
