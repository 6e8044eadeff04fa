package otelsession_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/internal/backendtest"
	"github.com/sessionstore/sessionstore/internal/storewrap"
	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/memory"
	"github.com/sessionstore/sessionstore/otelsession"
	"github.com/sessionstore/sessionstore/redis"
)

func TestMain(m *testing.M) {
	backendtest.ShorterModelRuns(25) // the suite over every backend; each is proven in full in its own package
	testservers.Main(m)
}

// telemetry is the real SDK with an in-memory span recorder and a manual
// metric reader.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		tel.tp.Shutdown(context.Background())
		tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) wrap(t *testing.T, store sessionstore.Store, opts otelsession.Options) sessionstore.Store {
	t.Helper()
	opts.TracerProvider, opts.MeterProvider = tel.tp, tel.mp
	s, err := otelsession.WrapStore(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storeSpans returns the ended spans of the store, in the order they ended.
func (tel *telemetry) storeSpans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.InstrumentationScope().Name == otelsession.ScopeName {
			out = append(out, s)
		}
	}
	return out
}

// collect returns the metrics recorded so far.
func (tel *telemetry) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// count returns the number of measurements of the named metric (the sum of
// a counter, the count of a histogram) whose attributes hold every one of
// want.
func count(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	var n int64
	match := func(set attribute.Set) bool {
		for _, kv := range want {
			if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
				return false
			}
		}
		return true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += int64(p.Count)
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += int64(p.Count)
					}
				}
			}
		}
	}
	return n
}

// allAttributes returns every attribute value of every span and data point,
// to check that none holds a secret.
func (tel *telemetry) allAttributes(t *testing.T) []string {
	var vals []string
	for _, s := range tel.spans.Ended() {
		for _, kv := range s.Attributes() {
			vals = append(vals, kv.Value.String())
		}
		vals = append(vals, s.Name())
	}
	for _, sm := range tel.collect(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, set := range sets {
				for _, kv := range set.ToSlice() {
					vals = append(vals, kv.Value.String())
				}
			}
		}
	}
	return vals
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// app serves a Manager over an instrumented store, each request in a
// server span of its own, as otelhttp would make.
type app struct {
	server  *httptest.Server
	tracer  trace.Tracer
	opened  chan struct{} // /slow has opened its session
	proceed chan struct{} // /slow may change and save it
	reqs    chan trace.SpanContext
}

func newApp(t *testing.T, tel *telemetry, store sessionstore.Store) *app {
	t.Helper()
	a := &app{
		tracer:  tel.tp.Tracer("test-http"),
		opened:  make(chan struct{}, 1),
		proceed: make(chan struct{}, 1),
		reqs:    make(chan trace.SpanContext, 16),
	}
	m := sessionstore.New(store)
	m.Logger = slog.New(slog.DiscardHandler) // the failed call is expected
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Put("user", "ann@example.com")
		s.RenewID()
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sessionstore.FromContext(r.Context()).GetString("user"))
	})
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sessionstore.FromContext(r.Context()).Put(r.URL.Query().Get("k"), "v")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		s.Len() // opens the session
		a.opened <- struct{}{}
		<-a.proceed
		s.Put("slow", "v")
	})
	h := m.Handler(mux)
	a.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := a.tracer.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		a.reqs <- span.SpanContext()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(a.server.Close)
	return a
}

func (a *app) get(t *testing.T, c *http.Client, path string, wantStatus int) (string, trace.SpanContext) {
	t.Helper()
	resp, err := c.Get(a.server.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	return string(body), <-a.reqs
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: time.Minute}
}

// wantSpans checks the store spans ended since the last check: their
// operations in order, each a client span child of req, with the system.
func wantSpans(t *testing.T, tel *telemetry, seen *int, req trace.SpanContext, system string, ops ...string) []sdktrace.ReadOnlySpan {
	t.Helper()
	all := tel.storeSpans()
	got := all[*seen:]
	*seen = len(all)
	var names []string
	for _, s := range got {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != strings.Join(ops, ",") {
		t.Fatalf("store spans %v, want %v", names, ops)
	}
	for _, s := range got {
		if s.Parent().SpanID() != req.SpanID() || s.SpanContext().TraceID() != req.TraceID() {
			t.Errorf("%s span is not a child of its request's span", s.Name())
		}
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s span kind %v, want client", s.Name(), s.SpanKind())
		}
		if v, _ := attr(s, "db.system.name"); v.AsString() != system {
			t.Errorf("%s span db.system.name = %q, want %q", s.Name(), v.AsString(), system)
		}
		if v, _ := attr(s, "db.operation.name"); v.AsString() != s.Name() {
			t.Errorf("%s span db.operation.name = %q", s.Name(), v.AsString())
		}
	}
	return got
}

// TestOverHTTP drives a Manager over an instrumented store on memory and on
// Redis: one login, one read, one conflict between two requests, and the
// spans, parents, attributes and counts they produce.
func TestOverHTTP(t *testing.T) {
	for _, b := range backendtest.All() {
		if b.Name != "memory" && b.Name != "redis" {
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			tel := newTelemetry(t)
			inner := b.NewStore(t)
			a := newApp(t, tel, tel.wrap(t, inner, otelsession.Options{}))
			c := newClient(t)
			seen := 0

			// One login: a new session saved under a fresh id.
			_, req := a.get(t, c, "/login", 200)
			spans := wantSpans(t, tel, &seen, req, b.Name, "Save")
			rm := tel.collect(t)
			if n := count(rm, "db.client.operation.duration", attribute.String("db.operation.name", "Save")); n != 1 {
				t.Errorf("Save duration count %d, want 1", n)
			}
			if n := count(rm, "sessionstore.store.record.size", attribute.String("db.operation.name", "Save")); n != 1 {
				t.Errorf("Save record size count %d, want 1", n)
			}
			if spans[0].Status().Code == codes.Error {
				t.Errorf("Save span status %v", spans[0].Status())
			}

			// One read: a Load that finds the session, nothing saved.
			if body, req := a.get(t, c, "/read", 200); body != "ann@example.com" {
				t.Fatalf("read %q", body)
			} else {
				spans = wantSpans(t, tel, &seen, req, b.Name, "Load")
			}
			if v, ok := attr(spans[0], otelsession.FoundKey); !ok || !v.AsBool() {
				t.Errorf("Load span %s = %v, %v; want true", otelsession.FoundKey, v.AsBool(), ok)
			}

			// One conflict: /slow opens the session, /put saves it, then
			// /slow saves over the version it loaded, loses, reloads and
			// swaps again.
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := c.Get(a.server.URL + "/slow"); err == nil {
					resp.Body.Close()
				}
			}()
			<-a.opened
			slowReq := <-a.reqs // sent as /slow began
			seen = len(tel.storeSpans())
			_, req = a.get(t, c, "/put?k=fast", 200)
			wantSpans(t, tel, &seen, req, b.Name, "Load", "CompareAndSwap")
			a.proceed <- struct{}{}
			<-done
			spans = wantSpans(t, tel, &seen, slowReq, b.Name, "CompareAndSwap", "Load", "CompareAndSwap")
			if v, _ := attr(spans[0], otelsession.SwappedKey); v.AsBool() {
				t.Error("the first swap of /slow did not report the conflict")
			}
			if v, _ := attr(spans[2], otelsession.SwappedKey); !v.AsBool() {
				t.Error("the retry of /slow did not report its swap")
			}
			rm = tel.collect(t)
			if n := count(rm, "sessionstore.store.conflicts"); n != 1 {
				t.Errorf("conflicts = %d, want 1", n)
			}
			if n := count(rm, "sessionstore.store.errors"); n != 0 {
				t.Errorf("errors = %d, want 0", n)
			}

			// Nothing secret in any attribute or span name.
			var cookie string
			for _, ck := range c.Jar.Cookies(mustURL(t, a.server.URL)) {
				cookie = ck.Value
			}
			if cookie == "" {
				t.Fatal("no session cookie")
			}
			for _, v := range tel.allAttributes(t) {
				for _, secret := range []string{cookie, "ann@example.com"} {
					if strings.Contains(v, secret) {
						t.Fatalf("an attribute holds %q: %q", secret, v)
					}
				}
			}
			var keys []string
			if err := inner.(sessionstore.Iterator).Iterate(context.Background(), func(id string, _ sessionstore.Record) bool {
				keys = append(keys, id)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			for _, v := range tel.allAttributes(t) {
				for _, k := range keys {
					if strings.Contains(v, k) {
						t.Fatalf("an attribute holds the store key: %q", v)
					}
				}
			}
		})
	}
}

// TestFailedCall: a store call that fails is a span with the error
// recorded, its status and error.type set, and one count in the errors
// metric, on a closed memory store (error.type _OTHER) and on Redis at an
// address nothing answers (unreachable).
func TestFailedCall(t *testing.T) {
	for _, c := range []struct {
		name, system, kind string
		store              func(t *testing.T) sessionstore.Store
	}{
		{"memory closed", "memory", "_OTHER", func(t *testing.T) sessionstore.Store {
			s := memory.New(memory.Options{})
			s.Close()
			return s
		}},
		{"redis unreachable", "redis", "unreachable", func(t *testing.T) sessionstore.Store {
			client := goredis.NewClient(&goredis.Options{Addr: testservers.ClosedAddr(t), ContextTimeoutEnabled: true, MaxRetries: -1})
			t.Cleanup(func() { client.Close() })
			s, err := redis.New(client, redis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tel := newTelemetry(t)
			a := newApp(t, tel, tel.wrap(t, c.store(t), otelsession.Options{}))
			cl := newClient(t)
			cl.Jar.SetCookies(mustURL(t, a.server.URL), []*http.Cookie{{Name: "session", Value: strings.Repeat("a", 43)}})
			_, req := a.get(t, cl, "/read", 500)
			seen := 0
			spans := wantSpans(t, tel, &seen, req, c.system, "Load")
			s := spans[0]
			if s.Status().Code != codes.Error || s.Status().Description != c.kind {
				t.Errorf("status %+v, want Error %q", s.Status(), c.kind)
			}
			if v, _ := attr(s, "error.type"); v.AsString() != c.kind {
				t.Errorf("error.type %q, want %q", v.AsString(), c.kind)
			}
			if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
				t.Errorf("events %v, want the recorded error", s.Events())
			}
			rm := tel.collect(t)
			if n := count(rm, "sessionstore.store.errors", attribute.String("error.type", c.kind), attribute.String("db.operation.name", "Load")); n != 1 {
				t.Errorf("errors{error.type=%s} = %d, want 1", c.kind, n)
			}
			if n := count(rm, "db.client.operation.duration", attribute.String("error.type", c.kind)); n != 1 {
				t.Errorf("duration{error.type=%s} count = %d, want 1", c.kind, n)
			}
		})
	}
}

// TestSpansNeedARecordingParent: a call outside any traced operation makes
// no span unless RootSpans is set; its metrics are recorded either way.
func TestSpansNeedARecordingParent(t *testing.T) {
	for _, root := range []bool{false, true} {
		tel := newTelemetry(t)
		inner := memory.New(memory.Options{})
		defer inner.Close()
		s := tel.wrap(t, inner, otelsession.Options{RootSpans: root, System: "custom", Collection: "sessions"})
		if err := s.Save(context.Background(), "id", []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		spans := tel.storeSpans()
		switch {
		case !root && len(spans) != 0:
			t.Errorf("RootSpans false: %d spans, want none", len(spans))
		case root && (len(spans) != 1 || spans[0].Name() != "Save sessions" || spans[0].Parent().IsValid()):
			t.Errorf("RootSpans true: spans %v, want one root span named \"Save sessions\"", spans)
		}
		if n := count(tel.collect(t), "db.client.operation.duration", attribute.String("db.system.name", "custom"), attribute.String("db.collection.name", "sessions")); n != 1 {
			t.Errorf("RootSpans %v: duration count %d, want 1", root, n)
		}
	}
}

func TestSystemFoundThroughWrappers(t *testing.T) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) {
			tel := newTelemetry(t)
			inner := b.NewStore(t)
			// Wrapped twice: the system is found under the inner wrapper.
			s := tel.wrap(t, tel.wrap(t, inner, otelsession.Options{System: "ignored"}), otelsession.Options{RootSpans: true})
			if _, _, err := s.Load(context.Background(), "id"); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"memory": "memory", "redis": "redis", "postgres": "postgresql", "mongo": "mongodb", "memcache": "memcached", "mysql": "mysql", "sqlite": "sqlite"}[b.Name]
			spans := tel.storeSpans()
			outer := spans[len(spans)-1]
			if v, _ := attr(outer, "db.system.name"); v.AsString() != want {
				t.Fatalf("db.system.name %q, want %q", v.AsString(), want)
			}
		})
	}
}

func TestCapabilitiesKept(t *testing.T) {
	full := memory.New(memory.Options{})
	defer full.Close()
	bare := struct{ sessionstore.Store }{full}
	for _, inner := range []sessionstore.Store{full, bare} {
		s, err := otelsession.WrapStore(inner, otelsession.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := storewrap.CapabilitiesOf(s), storewrap.CapabilitiesOf(inner); got != want {
			t.Errorf("over %T: %v, want %v", inner, got, want)
		}
	}
	if _, err := otelsession.WrapStore(nil, otelsession.Options{}); err == nil {
		t.Error("WrapStore(nil) did not fail")
	}
}

// TestNoProviderAllocatesNothing: with OpenTelemetry's global providers,
// never set in this test binary, a call allocates what the bare store's
// does and no more.
func TestNoProviderAllocatesNothing(t *testing.T) {
	bare := memory.New(memory.Options{})
	defer bare.Close()
	wrapped, err := otelsession.WrapStore(bare, otelsession.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data, exp := []byte("data"), time.Now().Add(time.Hour)
	round := func(s sessionstore.Store) func() {
		return func() {
			s.Save(ctx, "id", data, exp)
			s.Load(ctx, "id")
			s.(sessionstore.Toucher).Touch(ctx, "id", exp)
			s.(sessionstore.Swapper).CompareAndSwap(ctx, "id", 1, data, exp) // a conflict
			s.Load(ctx, "missing")
			s.Delete(ctx, "missing")
		}
	}
	b, w := fewestAllocs(round(bare)), fewestAllocs(round(wrapped))
	if w > b+allocNoise {
		t.Fatalf("%v allocations per round wrapped, %v bare", w, b)
	}
}

// TestNoOpenTelemetryInTheBackends: a program importing only the root
// package and backends builds without OpenTelemetry.
func TestNoOpenTelemetryInTheBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := []string{"github.com/sessionstore/sessionstore"}
	for _, b := range []string{"memory", "redis", "postgres", "mongo", "memcache", "encrypt", "storetest"} {
		pkgs = append(pkgs, "github.com/sessionstore/sessionstore/"+b)
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.opentelemetry.io/") {
			t.Fatalf("%s is in the build of the root package and backends", p)
		}
	}
}
