package main

import (
	"context"
	"fmt"
	"net/http"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sessionstore/sessionstore"
	"github.com/sessionstore/sessionstore/otelsession"
)

// withMetrics instruments m with OpenTelemetry metrics (see package
// otelsession) and returns app with the metrics served at /metrics in the
// Prometheus text format, through the OpenTelemetry Prometheus exporter,
// and a function that shuts the meter provider down. Call it before the
// first request.
//
// The exporter registers with a registry of its own rather than
// Prometheus's global one, so that nothing outlives the run (the tests run
// the demo several times in one process). /metrics is served outside the
// session middleware: a scrape opens no session.
func withMetrics(m *sessionstore.Manager, app http.Handler) (http.Handler, func(context.Context) error, error) {
	reg := promclient.NewRegistry()
	// One instrumentation scope: its labels on every series would only
	// repeat the package's name.
	exporter, err := prometheus.New(prometheus.WithRegisterer(reg), prometheus.WithoutScopeInfo())
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	if err := otelsession.Instrument(m, otelsession.Options{MeterProvider: mp}); err != nil {
		mp.Shutdown(context.Background())
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", app)
	return mux, mp.Shutdown, nil
}
