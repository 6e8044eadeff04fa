package otelsession_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/otelsession"
)

// Instrumenting a store: spans go to the application's TracerProvider (here
// one that records them; by default the global one), as children of the
// request's span.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	backend := memory.New(memory.Options{})
	defer backend.Close()
	store, err := otelsession.WrapStore(backend, otelsession.Options{TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	m := sessionstore.New(store)

	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("user", "ann")
	}))
	// otelhttp.NewHandler(app, "app") makes the request's span in a real
	// server; here it is made by hand.
	ctx, request := tp.Tracer("app").Start(context.Background(), "GET /login")
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/login", nil).WithContext(ctx))
	request.End()

	for _, s := range spans.Ended() {
		if s.InstrumentationScope().Name != otelsession.ScopeName {
			continue
		}
		fmt.Println(s.Name(), "child of the request:", s.Parent().SpanID() == request.SpanContext().SpanID())
		for _, kv := range s.Attributes() {
			fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
		}
	}
	// Output:
	// Save child of the request: true
	//   db.operation.name=Save
	//   db.system.name=memory
}

// Instrumenting a Manager: its open and save steps become spans under the
// request's, with the store calls under them, and the events of the
// sessions' lives are counted (here read with a manual reader; in an
// application, by an exporter).
func ExampleInstrument() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	store := memory.New(memory.Options{})
	defer store.Close()
	m := sessionstore.New(store)
	if err := otelsession.Instrument(m, otelsession.Options{TracerProvider: tp, MeterProvider: mp}); err != nil {
		log.Fatal(err)
	}

	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put("user", "ann")
	}))
	ctx, request := tp.Tracer("app").Start(context.Background(), "GET /login")
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/login", nil).WithContext(ctx))
	request.End()

	for _, s := range spans.Ended() {
		fmt.Printf("%s (parent %s)", s.Name(), nameOf(spans.Ended(), s.Parent()))
		for _, e := range s.Events() {
			fmt.Print(" event ", e.Name)
		}
		fmt.Println()
	}
	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if sum, ok := metric.Data.(metricdata.Sum[int64]); ok && metric.Name == "sessionstore.sessions" {
				for _, p := range sum.DataPoints {
					event, _ := p.Attributes.Value(otelsession.EventKey)
					fmt.Printf("%s{%s=%s} %d\n", metric.Name, otelsession.EventKey, event.AsString(), p.Value)
				}
			}
		}
	}
	// Output:
	// Save (parent sessionstore save)
	// sessionstore save (parent GET /login) event sessionstore.created
	// GET /login (parent none)
	// sessionstore.sessions{sessionstore.event=created} 1
}

// nameOf returns the name of the span of sc among spans.
func nameOf(spans []sdktrace.ReadOnlySpan, sc trace.SpanContext) string {
	for _, s := range spans {
		if s.SpanContext().SpanID() == sc.SpanID() {
			return s.Name()
		}
	}
	return "none"
}
