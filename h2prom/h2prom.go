// Package h2prom exports an h2loop Server's counters (Server.Metrics) and
// levels (Server.Gauges) to Prometheus. It lives apart from the h2loop
// package so that servers which do not use Prometheus do not depend on
// its client library.
//
// Register one Collector per server; it reads the server's atomic counters
// at each scrape and costs the serve path nothing:
//
//	srv := &h2loop.Server{Addr: ":8080", Handler: h}
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(h2prom.NewCollector(srv, h2prom.Options{}))
//	go http.ListenAndServe(":9090", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//	log.Fatal(srv.ListenAndServe())
//
// With several servers in one process, give each its own ConstLabels
// (server="public", server="admin") so their series stay apart.
//
// # Metrics
//
// Names are shown with the default namespace "h2loop". Counters (since the
// server started; they never go down):
//
//	h2loop_connections_total              HTTP/2 connections started (prior knowledge, h2c upgrade, TLS)
//	h2loop_connections_rejected_total     connections closed at accept because MaxConns were open
//	h2loop_connection_errors_total        connections closed with a GOAWAY error code
//	h2loop_protocol_errors_total          invalid prefaces, frames out of order
//	h2loop_requests_total                 requests dispatched to handlers (HTTP/2 and HTTP/1.1)
//	h2loop_pushes_total                   requests promised with PUSH_PROMISE (server push)
//	h2loop_overloaded_requests_total      requests refused because MaxWorkers handlers were busy
//	h2loop_malformed_requests_total       malformed requests (RFC 9113 §8.1.1)
//	h2loop_header_sections_too_large_total request header sections above MaxHeaderListSize (431)
//	h2loop_request_bodies_too_large_total request bodies above MaxRequestBodySize (413)
//	h2loop_frames_received_total          HTTP/2 frames received
//	h2loop_data_sent_bytes_total          HTTP/2 DATA payload bytes sent
//	h2loop_stream_resets_sent_total       RST_STREAM frames sent
//	h2loop_stream_resets_received_total   RST_STREAM frames received
//	h2loop_streams_refused_total          streams refused at SETTINGS_MAX_CONCURRENT_STREAMS
//	h2loop_flood_errors_total             connections ended with ENHANCE_YOUR_CALM (floods)
//	h2loop_proxy_refused_total            PROXY headers refused (untrusted source), or missing where required
//	h2loop_proxy_errors_total             malformed PROXY headers, or not received within their timeout
//	h2loop_timeouts_total                 settings, header, idle, read and write timeouts
//	h2loop_bad_response_fields_total      response fields HTTP/2 cannot carry, dropped
//	h2loop_writes_blocked_total           writes that waited for a slow reader
//	h2loop_handler_panics_total           handlers that panicked
//	h2loop_panics_total                   panics inside the server itself (bugs worth reporting)
//
// Gauges (levels at the scrape):
//
//	h2loop_open_connections   accepted connections not yet closed, of every kind
//	h2loop_open_streams       HTTP/2 streams open
//	h2loop_workers            live handler workers
//	h2loop_busy_workers       workers running a handler
//	h2loop_queued_requests    requests waiting for a worker
package h2prom

import (
	"github.com/h2loop/h2loop"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Collector.
type Options struct {
	// Namespace prefixes every metric name; "h2loop" if empty.
	Namespace string
	// ConstLabels are added to every series (to tell servers apart).
	ConstLabels prometheus.Labels
}

// counter maps one field of h2loop.Stats to a Prometheus counter.
type counter struct {
	name string // without namespace
	help string
	get  func(*h2loop.Stats) uint64
}

// counters lists every counter of h2loop.Stats (the package test checks
// that none is missing).
var counters = []counter{
	{"connections_total", "HTTP/2 connections started (prior knowledge, h2c upgrade, TLS).", func(m *h2loop.Stats) uint64 { return m.Conns.Load() }},
	{"connections_rejected_total", "Connections closed at accept because MaxConns connections were open.", func(m *h2loop.Stats) uint64 { return m.ConnsRejected.Load() }},
	{"connection_errors_total", "Connections closed with a GOAWAY error code.", func(m *h2loop.Stats) uint64 { return m.ConnErrors.Load() }},
	{"protocol_errors_total", "Invalid connection prefaces and frames out of order.", func(m *h2loop.Stats) uint64 { return m.ProtocolErrors.Load() }},
	{"requests_total", "Requests dispatched to handlers, HTTP/2 and HTTP/1.1.", func(m *h2loop.Stats) uint64 { return m.Requests.Load() }},
	{"pushes_total", "Requests promised with PUSH_PROMISE (server push).", func(m *h2loop.Stats) uint64 { return m.Pushes.Load() }},
	{"overloaded_requests_total", "HTTP/2 requests refused with REFUSED_STREAM because MaxWorkers handlers were busy.", func(m *h2loop.Stats) uint64 { return m.Overloaded.Load() }},
	{"malformed_requests_total", "Malformed requests (RFC 9113 section 8.1.1).", func(m *h2loop.Stats) uint64 { return m.Malformed.Load() }},
	{"header_sections_too_large_total", "Request header sections above MaxHeaderListSize (answered 431).", func(m *h2loop.Stats) uint64 { return m.HeaderTooLarge.Load() }},
	{"request_bodies_too_large_total", "Request bodies above MaxRequestBodySize (answered 413).", func(m *h2loop.Stats) uint64 { return m.BodyTooLarge.Load() }},
	{"frames_received_total", "HTTP/2 frames received.", func(m *h2loop.Stats) uint64 { return m.Frames.Load() }},
	{"data_sent_bytes_total", "HTTP/2 DATA payload bytes sent.", func(m *h2loop.Stats) uint64 { return m.BytesSent.Load() }},
	{"stream_resets_sent_total", "RST_STREAM frames sent.", func(m *h2loop.Stats) uint64 { return m.ResetsSent.Load() }},
	{"stream_resets_received_total", "RST_STREAM frames received.", func(m *h2loop.Stats) uint64 { return m.ResetsReceived.Load() }},
	{"streams_refused_total", "Streams refused at SETTINGS_MAX_CONCURRENT_STREAMS.", func(m *h2loop.Stats) uint64 { return m.Refused.Load() }},
	{"flood_errors_total", "Connections ended with ENHANCE_YOUR_CALM: floods of resets, control frames, useless frames or CONTINUATION.", func(m *h2loop.Stats) uint64 { return m.FloodErrors.Load() }},
	{"proxy_refused_total", "Connections closed for their PROXY header: from an untrusted source, refused, or missing from a trusted one.", func(m *h2loop.Stats) uint64 { return m.ProxyRefused.Load() }},
	{"proxy_errors_total", "Connections closed for a malformed PROXY header or one not received within its timeout.", func(m *h2loop.Stats) uint64 { return m.ProxyErrors.Load() }},
	{"timeouts_total", "Settings, header, idle, read and write timeouts.", func(m *h2loop.Stats) uint64 { return m.Timeouts.Load() }},
	{"bad_response_fields_total", "Response fields a handler set that HTTP/2 cannot carry (dropped).", func(m *h2loop.Stats) uint64 { return m.BadResponseFields.Load() }},
	{"writes_blocked_total", "Socket writes that found the send buffer full and waited for the peer to read.", func(m *h2loop.Stats) uint64 { return m.WritesBlocked.Load() }},
	{"handler_panics_total", "Handlers that panicked (stream reset, panic logged).", func(m *h2loop.Stats) uint64 { return m.HandlerPanics.Load() }},
	{"panics_total", "Panics inside the server itself (connection closed, panic logged): bugs worth reporting.", func(m *h2loop.Stats) uint64 { return m.Panics.Load() }},
	{"callback_panics_total", "Panics in user callbacks outside handlers (ConnState, ConnContext, AccessLog, ...): recovered and logged.", func(m *h2loop.Stats) uint64 { return m.CallbackPanics.Load() }},
}

// gauge maps one field of h2loop.Gauges to a Prometheus gauge.
type gauge struct {
	name string
	help string
	get  func(*h2loop.Gauges) float64
}

var gauges = []gauge{
	{"open_connections", "Accepted connections not yet closed, of every kind (what MaxConns bounds).", func(g *h2loop.Gauges) float64 { return float64(g.OpenConns) }},
	{"open_streams", "HTTP/2 streams open.", func(g *h2loop.Gauges) float64 { return float64(g.OpenStreams) }},
	{"workers", "Live handler workers (at most MaxWorkers).", func(g *h2loop.Gauges) float64 { return float64(g.Workers) }},
	{"busy_workers", "Handler workers running a handler.", func(g *h2loop.Gauges) float64 { return float64(g.BusyWorkers) }},
	{"queued_requests", "Requests waiting for a handler worker (at most QueueSize).", func(g *h2loop.Gauges) float64 { return float64(g.QueuedRequests) }},
}

// Collector is a prometheus.Collector for one h2loop Server.
type Collector struct {
	srv      *h2loop.Server
	counters []*prometheus.Desc // as counters
	gauges   []*prometheus.Desc // as gauges
}

// NewCollector returns a Collector of srv's metrics. Register it with a
// prometheus.Registerer; srv may be served before or after.
func NewCollector(srv *h2loop.Server, opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "h2loop"
	}
	c := &Collector{srv: srv}
	for _, m := range counters {
		c.counters = append(c.counters, prometheus.NewDesc(prometheus.BuildFQName(ns, "", m.name), m.help, nil, opts.ConstLabels))
	}
	for _, m := range gauges {
		c.gauges = append(c.gauges, prometheus.NewDesc(prometheus.BuildFQName(ns, "", m.name), m.help, nil, opts.ConstLabels))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d
	}
	for _, d := range c.gauges {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the server's counters
// and levels now. A server without a Handler has no metrics yet.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Metrics()
	if st == nil {
		return
	}
	for i, m := range counters {
		ch <- prometheus.MustNewConstMetric(c.counters[i], prometheus.CounterValue, float64(m.get(st)))
	}
	g := c.srv.Gauges()
	for i, m := range gauges {
		ch <- prometheus.MustNewConstMetric(c.gauges[i], prometheus.GaugeValue, m.get(&g))
	}
}
