package main

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// histogram is one operation's latencies in log-spaced buckets, drawn as an
// inline SVG.
type histogram struct {
	Op  *opStats
	SVG template.HTML
}

const (
	histBuckets = 40
	svgWidth    = 640
	svgHeight   = 180
	svgMargin   = 40
)

// htmlReport returns a self-contained page (no script, no external file)
// with the configuration, the table and a latency histogram per operation,
// on one log scale shared by all operations so that they compare by eye.
func htmlReport(rep *benchReport) string {
	lo, hi := time.Duration(math.MaxInt64), time.Duration(1)
	for _, o := range rep.Ops {
		if len(o.lat) > 0 {
			lo = min(lo, max(o.lat[0], time.Microsecond))
			hi = max(hi, o.lat[len(o.lat)-1])
		}
	}
	if hi <= lo {
		hi = lo * 2
	}
	var hs []histogram
	for _, o := range rep.Ops {
		hs = append(hs, histogram{Op: o, SVG: template.HTML(svgHistogram(o, lo, hi))})
	}
	var b strings.Builder
	err := reportPage.Execute(&b, struct {
		R     *benchReport
		Hists []histogram
		When  string
	}{rep, hs, time.Now().UTC().Format(time.DateTime + " UTC")})
	if err != nil {
		return "report: " + err.Error()
	}
	return b.String()
}

// svgHistogram draws o's latencies between lo and hi.
func svgHistogram(o *opStats, lo, hi time.Duration) string {
	counts := make([]int, histBuckets)
	llo, lhi := math.Log(float64(lo)), math.Log(float64(hi))
	bucket := func(d time.Duration) int {
		x := (math.Log(float64(max(d, lo))) - llo) / (lhi - llo)
		return min(int(x*histBuckets), histBuckets-1)
	}
	top := 0
	for _, d := range o.lat {
		i := bucket(d)
		counts[i]++
		top = max(top, counts[i])
	}
	var b strings.Builder
	w := float64(svgWidth-2*svgMargin) / histBuckets
	h := float64(svgHeight - 2*svgMargin)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="latency histogram of %s">`, svgWidth, svgHeight, o.Op)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, svgMargin, svgHeight-svgMargin, svgWidth-svgMargin, svgHeight-svgMargin)
	// The bars are light so that the marks drawn over them stay visible
	// (a thin dark mark over a dark bar of the same bucket vanished).
	b.WriteString(`<g class="bars" fill="#9bb8dd">`)
	for i, c := range counts {
		if c == 0 {
			continue
		}
		bh := h * float64(c) / float64(top)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			float64(svgMargin)+float64(i)*w+1, float64(svgHeight-svgMargin)-bh, w-2, bh, pl(c, "operation"))
	}
	b.WriteString(`</g>`)
	// Tick labels at five points of the log scale.
	for k := 0; k <= 4; k++ {
		x := float64(svgMargin) + float64(k)/4*float64(svgWidth-2*svgMargin)
		d := time.Duration(math.Exp(llo + float64(k)/4*(lhi-llo)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#444">%s</text>`, x, svgHeight-svgMargin+16, dur(int64(d)))
	}
	// The percentiles, drawn after the bars so that they lie on top: each a
	// solid line over a white halo, its label at a height of its own so
	// that close percentiles do not print over each other.
	if o.Count > 0 {
		b.WriteString(`<g class="marks">`)
		for i, p := range []struct {
			name, colour string
			v            int64
		}{{"p50", "#c0392b", o.P50}, {"p99", "#7d3c98", o.P99}} {
			x := float64(svgMargin) + (math.Log(float64(max(time.Duration(p.v), lo)))-llo)/(lhi-llo)*float64(svgWidth-2*svgMargin)
			ty := svgMargin - 8 - 13*i
			fmt.Fprintf(&b, `<g class="mark %s"><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#fff" stroke-width="4"/>`+
				`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>`+
				`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="%s">%s %s</text></g>`,
				p.name, x, ty+4, x, svgHeight-svgMargin, x, ty+4, x, svgHeight-svgMargin, p.colour, x, ty, p.colour, p.name, dur(p.v))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{"dur": dur}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>sessionstore bench: {{.R.Config.Store}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:760px}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.25em .75em;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}h2{font-size:1.1em;margin-top:2em}
</style></head><body>
<h1>sessionstore bench</h1>
<p><b>{{.R.Config.Store}}</b> ({{.R.Config.Backend}}), {{.When}}<br>
{{.R.Config.Concurrency}} workers, {{.R.Config.Sessions}} sessions of {{.R.Config.Size}} bytes,
{{if .R.Config.Count}}{{.R.Config.Count}} operations{{else}}{{.R.Config.Duration}}{{end}}:
{{printf "%.0f" .R.Throughput}} operations/s over {{printf "%.1f" .R.Elapsed}} s.</p>
<table><tr><th>operation</th><th>count</th><th>errors</th><th>ops/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>
{{range .R.Ops}}<tr><td>{{.Op}}</td><td>{{.Count}}</td><td>{{.Errors}}</td><td>{{printf "%.0f" .Throughput}}</td><td>{{dur .P50}}</td><td>{{dur .P90}}</td><td>{{dur .P99}}</td><td>{{dur .Max}}</td></tr>
{{end}}</table>
{{if .R.FirstError}}<p>First error: {{.R.FirstError}}</p>{{end}}
{{range .Hists}}<h2>{{.Op.Op}}</h2>
{{.SVG}}
{{end}}
<p>Latency on a log scale, the same for every operation; the lines mark p50 (red) and p99 (purple).</p>
</body></html>
`))
