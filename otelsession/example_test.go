package otelsession_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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
