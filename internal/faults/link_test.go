package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// link is a Toxiproxy proxy on a loopback port in front of one server: the
// driver dials addr, and faults are toxics added to the link.
type link struct {
	proxy *toxiproxy.Proxy
	addr  string
}

// newLink starts a proxy to upstream, stopped (its connections closed) when
// t ends.
func newLink(t testing.TB, upstream string) *link {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "db", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy: start a proxy to %s: %v", upstream, err)
	}
	t.Cleanup(p.Stop)
	return &link{proxy: p, addr: p.Listen}
}

// toxic is one fault of a link, in Toxiproxy's own terms.
type toxic struct {
	Type     string         // latency, reset_peer, timeout, bandwidth, ...
	Stream   string         // "downstream" (server to driver) or "upstream"
	Toxicity float64        // the share of connections it applies to; 0 means 1
	Attrs    map[string]int // the toxic's attributes
}

// add puts tx on the link: on every connection open now and every one
// opened later (each with probability Toxicity). It panics when t is nil and
// the toxic is refused.
func (l *link) add(t testing.TB, tx toxic) {
	if t != nil {
		t.Helper()
	}
	if tx.Toxicity == 0 {
		tx.Toxicity = 1
	}
	var attrs []string
	for k, v := range tx.Attrs {
		attrs = append(attrs, fmt.Sprintf("%q:%d", k, v))
	}
	js := fmt.Sprintf(`{"type":%q,"stream":%q,"toxicity":%g,"attributes":{%s}}`,
		tx.Type, tx.Stream, tx.Toxicity, strings.Join(attrs, ","))
	if _, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		if t == nil {
			panic(fmt.Sprintf("toxiproxy: add %s: %v", js, err))
		}
		t.Fatalf("toxiproxy: add %s: %v", js, err)
	}
}

// heal removes every toxic: the link passes bytes untouched again.
func (l *link) heal() { l.proxy.Toxics.ResetToxics(context.Background()) }
