package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsFlag: with -metrics, /metrics shows the counts of what a
// browser did (a session created, a login, a logout) and the store calls
// it made, and a scrape opens no session; without it, /metrics is the
// demo's 404 page.
func TestMetricsFlag(t *testing.T) {
	d := startDemo(t, "-metrics")
	b := newBrowser(t, d.url)
	b.count()
	b.count()
	if res := b.post("/login", url.Values{"user": {"ann"}, "password": {"demo"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", res.Status)
	}
	b.get("/")
	if res := b.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", res.Status)
	}

	scraper := newBrowser(t, d.url)
	req, _ := http.NewRequest("GET", d.url+"/metrics", nil)
	res, body := scraper.do(req)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, %s", res.Status, res.Header.Get("Content-Type"))
	}
	if len(res.Cookies()) != 0 || res.Header.Get("Vary") != "" {
		t.Errorf("GET /metrics opened a session: cookies %v, Vary %q", res.Cookies(), res.Header.Get("Vary"))
	}
	series := map[string]bool{}
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, "#") {
			series[strings.TrimSpace(line)] = true
		}
	}
	for _, want := range []string{
		// The first count, and the logout's flash message in a new session.
		`sessionstore_sessions_total{sessionstore_event="created"} 2`,
		`sessionstore_sessions_total{sessionstore_event="renewed"} 1`,
		`sessionstore_sessions_total{sessionstore_event="destroyed"} 1`,
		// Saves: every request (the home page took the login's flash
		// message out); opens: all but the first count, which had no cookie.
		`sessionstore_step_duration_seconds_count{sessionstore_step="save"} 5`,
		`sessionstore_step_duration_seconds_count{sessionstore_step="open"} 4`,
	} {
		if !series[want] {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	// Store calls: at least the four opens' loads (the login may make more).
	const loads = `db_client_operation_duration_seconds_count{db_operation_name="Load",db_system_name="memory"} `
	n := 0
	for s := range series {
		if v, ok := strings.CutPrefix(s, loads); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	if n < 4 {
		t.Errorf("/metrics counts %d loads, want at least 4:\n%s", n, body)
	}

	plain := startDemo(t)
	req, _ = http.NewRequest("GET", plain.url+"/metrics", nil)
	if res, _ := newBrowser(t, plain.url).do(req); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without -metrics: %s, want 404", res.Status)
	}
}
