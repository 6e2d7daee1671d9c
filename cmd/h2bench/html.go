//go:build linux

package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html"
	"math"
	"os"
	"sort"
	"strings"
)

// The HTML report is one self-contained file: uPlot (MIT, vendored in
// assets/uplot with its licence) and the run's data are inlined, so the
// page needs no network and can be attached to a CI job as it is.

//go:embed assets/uplot/uPlot.iife.min.js
var uplotJS string

//go:embed assets/uplot/uPlot.min.css
var uplotCSS string

//go:embed assets/uplot/LICENSE
var uplotLicense string

// htmlData is what the page's script draws.
type htmlData struct {
	Title string `json:"title"`
	// Latency by percentile as HdrHistogram plots it: x is 1/(1-p) on a
	// log axis (labelled 0%, 90%, 99%, ...), y milliseconds; one series
	// per histogram, null past its resolution.
	SpectrumX      []float64             `json:"spectrum_x"`
	Spectrum       map[string][]*float64 `json:"spectrum"`
	SecondsOK      []int64               `json:"seconds_ok"`     // requests completed in each second
	SecondsFailed  []int64               `json:"seconds_failed"` // requests failed in each second
	StatusLabels   []string              `json:"status_labels"`
	StatusCounts   []int64               `json:"status_counts"`
	SpectrumSeries []string              `json:"spectrum_series"`
}

// spectrumLabels names the histograms drawn on the percentile chart.
var spectrumLabels = map[string]string{"request": "raw (to last byte)", "ttfb": "to first byte", "corrected": "corrected (open loop)"}

// percentileSpectrum returns HdrHistogram's percentile ticks (5 per halving
// of the distance to 100%) as x = 1/(1-p), up to the largest count, and the
// value of each histogram there in ms (nil where a histogram has too few
// values).
func (r *result) percentileSpectrum() ([]float64, map[string][]*float64, []string) {
	var most int64
	var names []string
	for _, n := range []string{"request", "ttfb", "corrected"} {
		if c := r.hist[n].TotalCount(); c > 0 {
			names = append(names, n)
			most = max(most, c)
		}
	}
	var xs []float64
	var ps []float64
	for i := 0; i < 400; i++ {
		p := 100 * (1 - math.Pow(2, -float64(i)/5))
		x := 1 / (1 - p/100)
		if x > float64(most) {
			break
		}
		xs, ps = append(xs, x), append(ps, p)
	}
	xs, ps = append(xs, float64(most)), append(ps, 100)
	series := map[string][]*float64{}
	for _, n := range names {
		h := r.hist[n]
		ys := make([]*float64, len(xs))
		for i, p := range ps {
			if xs[i] > float64(h.TotalCount()) && p < 100 {
				continue
			}
			v := float64(h.ValueAtPercentile(p)) / 1e6
			if p == 100 {
				v = float64(h.Max()) / 1e6
			}
			ys[i] = &v
		}
		series[n] = ys
	}
	return xs, series, names
}

// writeHTML writes the report page of r to path.
func writeHTML(path string, r *result) error {
	d := htmlData{Title: "h2bench " + strings.Join(r.Args, " "), SecondsOK: r.PerSecond.OK, SecondsFailed: r.PerSecond.Failed}
	if d.SecondsOK == nil {
		d.SecondsOK = []int64{}
	}
	if d.SecondsFailed == nil {
		d.SecondsFailed = []int64{}
	}
	d.SpectrumX, d.Spectrum, d.SpectrumSeries = r.percentileSpectrum()
	for i, n := range d.SpectrumSeries {
		d.SpectrumSeries[i] = n + "\t" + spectrumLabels[n]
	}
	var codes []string
	for k := range r.StatusCodes {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, k := range codes {
		d.StatusLabels = append(d.StatusLabels, k)
		d.StatusCounts = append(d.StatusCounts, r.StatusCodes[k])
	}
	for k, v := range r.Errors {
		d.StatusLabels = append(d.StatusLabels, "error: "+k)
		d.StatusCounts = append(d.StatusCounts, v)
	}
	js, err := json.Marshal(d)
	if err != nil {
		return err
	}
	var text bytes.Buffer
	writeReport(&text, r)

	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
	b.WriteString(html.EscapeString(d.Title))
	b.WriteString("</title>\n<!-- uPlot 1.6.32, https://github.com/leeoniya/uPlot\n")
	b.WriteString(strings.ReplaceAll(uplotLicense, "--", "- -"))
	b.WriteString("-->\n<style>\n")
	b.WriteString(uplotCSS)
	b.WriteString(htmlCSS)
	b.WriteString("</style>\n<script>\n")
	b.WriteString(uplotJS)
	b.WriteString("\n</script>\n</head><body>\n<h1>")
	b.WriteString(html.EscapeString(d.Title))
	b.WriteString("</h1>\n<div id=\"spectrum\" class=\"chart\"></div>\n<div id=\"persec\" class=\"chart\"></div>\n<div id=\"status\" class=\"chart\"></div>\n<pre id=\"report\">")
	b.WriteString(html.EscapeString(text.String()))
	b.WriteString("</pre>\n<script id=\"data\" type=\"application/json\">")
	// JSON inside <script>: "</" must not close the element
	b.WriteString(strings.ReplaceAll(string(js), "</", "<\\/"))
	b.WriteString("</script>\n<script>\n")
	b.WriteString(htmlScript)
	b.WriteString("</script>\n</body></html>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

const htmlCSS = `
body { font-family: system-ui, sans-serif; margin: 20px; color: #222; }
h1 { font-size: 16px; font-weight: 600; font-family: monospace; }
.chart { margin: 16px 0 32px; }
pre { font-size: 12px; background: #f6f6f6; padding: 12px; overflow-x: auto; }
`

// htmlScript draws the three charts from the data element and marks the
// body with data-ready="N", N the number of charts drawn, when it is done
// or has failed.
const htmlScript = `
(function () {
  var drawn = 0;
  try { draw(); } finally { document.body.setAttribute("data-ready", String(drawn)); }
  function draw() {
  var d = JSON.parse(document.getElementById("data").textContent);
  var W = Math.max(480, Math.min(1100, window.innerWidth - 60));
  var colors = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd"];
  function pct(x) {
    if (x == null) return "";
    var p = 100 * (1 - 1 / x);
    if (p <= 0) return "0%";
    var digits = Math.max(0, Math.ceil(-Math.log10(100 - p + 1e-12)) + 1);
    var s = p.toFixed(Math.min(digits, 6));
    if (s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s + "%";
  }
  // ticks at 0%, 90%, 99%, 99.9%, ...: x = 1, 10, 100, ...
  function decades(u) {
    var s = [];
    for (var v = 1; v <= u.scales.x.max * 1.0001; v *= 10) s.push(v);
    return s;
  }
  function ms(v) { return v == null ? "-" : (v >= 1000 ? (v / 1000).toFixed(3) + " s" : v.toPrecision(4) + " ms"); }

  // latency by percentile, on HdrHistogram's log axis of 1/(1-p)
  var sx = [d.spectrum_x], ss = [{label: "percentile", value: function (u, v) { return v == null ? "-" : pct(v); }}];
  d.spectrum_series.forEach(function (nl, i) {
    var p = nl.split("\t");
    sx.push(d.spectrum[p[0]]);
    ss.push({label: p[1], stroke: colors[i], width: 2, spanGaps: false, value: function (u, v) { return ms(v); }});
  });
  new uPlot({
    title: "Latency by percentile", width: W, height: 380,
    scales: {x: {distr: 3, log: 10}, y: {range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.05 : 1]; }}},
    axes: [{label: "percentile", splits: decades, values: function (u, vals) { return vals.map(pct); }},
           {label: "latency (ms)", size: 70}],
    series: ss
  }, sx, document.getElementById("spectrum"));
  drawn++;

  // requests per second over the run
  var n = Math.max(d.seconds_ok.length, d.seconds_failed.length), t = [];
  for (var i = 0; i < n; i++) t.push(i);
  function pad(a) { a = a.slice(); while (a.length < n) a.push(0); return a; }
  new uPlot({
    title: "Requests per second", width: W, height: 300,
    scales: {x: {time: false}},
    axes: [{label: "second of the run", incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600]}, {label: "requests", size: 70}],
    series: [{label: "second"},
             {label: "completed", stroke: colors[0], width: 2, fill: "rgba(31,119,180,0.1)"},
             {label: "failed", stroke: colors[2], width: 2}]
  }, [t, pad(d.seconds_ok), pad(d.seconds_failed)], document.getElementById("persec"));
  drawn++;

  // status codes and errors
  var labels = d.status_labels || [], counts = d.status_counts || [], xs = [];
  for (var j = 0; j < labels.length; j++) xs.push(j);
  new uPlot({
    title: "Status codes and errors", width: Math.min(W, 200 + 120 * labels.length), height: 300,
    scales: {x: {time: false, range: function () { return [-0.5, Math.max(labels.length, 1) - 0.5]; }},
             y: {range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; }}},
    axes: [{splits: function () { return xs; }, values: function (u, vals) { return vals.map(function (v) { return labels[v] || ""; }); }},
           {label: "requests", size: 80}],
    series: [{label: "status", value: function (u, v) { return v == null ? "-" : labels[v]; }},
             {label: "requests", stroke: colors[0], fill: "rgba(31,119,180,0.5)", paths: uPlot.paths.bars({size: [0.6, 80]}), points: {show: false}}]
  }, [xs, counts], document.getElementById("status"));
  drawn++;
  }
})();
`
