package otelsession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionstore/sessionstore"
)

// Attribute keys of the Manager's spans and metrics.
const (
	StepKey  = attribute.Key("sessionstore.step")  // open or save
	EventKey = attribute.Key("sessionstore.event") // created, renewed, destroyed, revoked, expired, undecodable, dropped
)

// Names of the Manager's metrics.
const (
	metricSteps         = "sessionstore.step.duration"
	metricSessions      = "sessionstore.sessions"
	metricSaveConflicts = "sessionstore.save.conflicts"
)

// Instrument instruments a Manager with OpenTelemetry: it wraps m.Store with
// [WrapStore] and sets m.Observer to [NewObserver], both with opts. Call it
// once, after [sessionstore.New] and before the first request:
//
//	m := sessionstore.New(store)
//	err := otelsession.Instrument(m, otelsession.Options{})
func Instrument(m *sessionstore.Manager, opts Options) error {
	if m == nil {
		return errors.New("otelsession: instrument: nil Manager")
	}
	store, err := WrapStore(m.Store, opts)
	if err != nil {
		return err
	}
	o, err := NewObserver(opts)
	if err != nil {
		return err
	}
	m.Store, m.Observer = store, o
	return nil
}

// observer is the sessionstore.Observer of NewObserver.
type observer struct {
	tracer    trace.Tracer
	rootSpans bool
	spanNames [2]string
	spanOpts  [2][]trace.SpanStartOption

	duration  metric.Float64Histogram
	sessions  metric.Int64Counter
	conflicts metric.Int64Counter

	// Every attribute set a measurement takes, built once: an option built
	// per call would allocate.
	okOpts       [2][]metric.RecordOption
	failOpts     [2][numKinds][]metric.RecordOption
	eventOpts    [][]metric.AddOption // by sessionstore.Event
	conflictOpts []metric.AddOption
	eventNames   []string // of the span events, by sessionstore.Event
}

// NewObserver returns a [sessionstore.Observer] that traces and measures
// what a Manager does; set it as Manager.Observer, or let [Instrument] do
// it. Of opts it uses the providers, Attributes and RootSpans; System and
// Collection concern store calls only.
//
// Each request's open and save is an internal span, "sessionstore open"
// or "sessionstore save", a child of the request's span and the parent of
// the store calls it makes (when the store is wrapped with [WrapStore]). A
// step that fails records the error and sets the span's status and
// error.type. Each event of a session's life is a span event
// ("sessionstore.created", ...) on the span of the step it happened in
// (for a revoke, on the caller's span) and a count:
//
//	sessionstore.step.duration   histogram, s        sessionstore.step (open, save), error.type on failure
//	sessionstore.sessions        counter, {session}  sessionstore.event: created, renewed, destroyed,
//	                                                 revoked, expired (a cookie that named no live session),
//	                                                 undecodable, dropped (changes dropped: the session
//	                                                 ended during the request)
//	sessionstore.save.conflicts  counter, {conflict} compare-and-swaps a save lost to another process;
//	                                                 the save reloads the session, then merges its
//	                                                 changes and swaps again, or drops them if the
//	                                                 session ended meanwhile
//
// As for store calls, a step makes a span only under a recording span
// (or with RootSpans), no id, key or value is ever an attribute, and with
// no provider set a step costs a few tens of nanoseconds and no allocation.
func NewObserver(opts Options) (sessionstore.Observer, error) {
	tp, mp := opts.TracerProvider, opts.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	o := &observer{tracer: tp.Tracer(ScopeName), rootSpans: opts.RootSpans}
	if err := o.instruments(mp.Meter(ScopeName)); err != nil {
		return nil, fmt.Errorf("otelsession: new observer: %w", err)
	}
	set := func(more ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(append([]attribute.KeyValue{}, opts.Attributes...), more...)...)
	}
	for st, step := range []sessionstore.Step{sessionstore.StepOpen, sessionstore.StepSave} {
		o.spanNames[st] = "sessionstore " + step.String()
		o.spanOpts[st] = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
		if len(opts.Attributes) > 0 {
			o.spanOpts[st] = append(o.spanOpts[st], trace.WithAttributes(opts.Attributes...))
		}
		o.okOpts[st] = []metric.RecordOption{metric.WithAttributeSet(set(StepKey.String(step.String())))}
		for k := range numKinds {
			o.failOpts[st][k] = []metric.RecordOption{metric.WithAttributeSet(set(StepKey.String(step.String()), semconv.ErrorTypeKey.String(kindNames[k])))}
		}
	}
	// Every event the root package names, so that one it adds later is
	// counted without a change here.
	for e := sessionstore.Event(0); e.String() != "unknown"; e++ {
		o.eventOpts = append(o.eventOpts, []metric.AddOption{metric.WithAttributeSet(set(EventKey.String(e.String())))})
		o.eventNames = append(o.eventNames, "sessionstore."+e.String())
	}
	o.conflictOpts = []metric.AddOption{metric.WithAttributeSet(set())}
	return o, nil
}

func (o *observer) instruments(meter metric.Meter) error {
	var err, e error
	o.duration, e = meter.Float64Histogram(metricSteps,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of opening and saving sessions, store calls and retries included."),
		metric.WithExplicitBucketBoundaries(0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10))
	err = errors.Join(err, e)
	o.sessions, e = meter.Int64Counter(metricSessions,
		metric.WithUnit("{session}"),
		metric.WithDescription("Events of sessions' lives, by sessionstore.event."))
	err = errors.Join(err, e)
	o.conflicts, e = meter.Int64Counter(metricSaveConflicts,
		metric.WithUnit("{conflict}"),
		metric.WithDescription("Compare-and-swaps a save lost to another process, each followed by a reload."))
	return errors.Join(err, e)
}

// noEnd ends a step that is neither traced nor timed. A function, not a
// closure, so that returning it allocates nothing.
func noEnd(error) {}

// Begin starts the span of a step, if it is traced, and its clock, if its
// duration is recorded.
func (o *observer) Begin(ctx context.Context, step sessionstore.Step) (context.Context, func(error)) {
	st := 0
	if step != sessionstore.StepOpen {
		st = 1
	}
	traced := o.rootSpans || trace.SpanFromContext(ctx).IsRecording()
	timed := o.duration.Enabled(ctx)
	if !traced && !timed {
		return ctx, noEnd
	}
	var span trace.Span
	if traced {
		ctx, span = o.tracer.Start(ctx, o.spanNames[st], o.spanOpts[st]...)
	}
	var start time.Time
	if timed {
		start = time.Now()
	}
	return ctx, func(err error) { o.end(ctx, st, span, start, err) }
}

// end records the duration and any error of a step, and ends its span.
func (o *observer) end(ctx context.Context, st int, span trace.Span, start time.Time, err error) {
	if err == nil {
		if !start.IsZero() {
			o.duration.Record(ctx, time.Since(start).Seconds(), o.okOpts[st]...)
		}
		if span != nil {
			span.End()
		}
		return
	}
	k := kindOf(err)
	if !start.IsZero() {
		o.duration.Record(ctx, time.Since(start).Seconds(), o.failOpts[st][k]...)
	}
	if span != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(kindNames[k]))
		span.RecordError(err)
		span.SetStatus(codes.Error, kindNames[k])
		span.End()
	}
}

// Event counts e and adds it to the span of ctx, if that one records.
func (o *observer) Event(ctx context.Context, e sessionstore.Event) {
	i := int(e)
	if i >= len(o.eventOpts) {
		return
	}
	if e == sessionstore.EventConflict {
		o.conflicts.Add(ctx, 1, o.conflictOpts...)
	} else {
		o.sessions.Add(ctx, 1, o.eventOpts[i]...)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(o.eventNames[i])
	}
}
