package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds hookpipe's Prometheus collectors. One Metrics serves a whole
// process; its methods are safe for concurrent use, and a nil *Metrics
// ignores every call, so that stages can run without one in tests.
type Metrics struct {
	reg *prometheus.Registry

	mu         sync.Mutex // guards connectors
	connectors map[string]*ConnectorMetrics

	ingestRequests *prometheus.CounterVec
	ingestEvents   prometheus.Counter
	fanoutEvents   prometheus.Counter
	fanoutSkipped  prometheus.Counter
	fanoutOutputs  *prometheus.CounterVec
	delivered      *prometheus.CounterVec
	failed         *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	endToEnd       *prometheus.HistogramVec
	inFlight       *prometheus.GaugeVec
	retried        *prometheus.CounterVec
	expired        *prometheus.CounterVec
	health         *healthVecs
}

// NewMetrics registers hookpipe's collectors on a new registry, together
// with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), connectors: make(map[string]*ConnectorMetrics)}
	f := factory{m.reg}
	m.ingestRequests = f.counterVec("hookpipe_ingest_requests_total", "Ingest requests by HTTP status code.", "code")
	m.ingestEvents = f.counter("hookpipe_ingest_events_total", "Events accepted by ingest (acknowledged by Kafka).")
	m.fanoutEvents = f.counter("hookpipe_fanout_events_total", "Events read by fanout.")
	m.fanoutSkipped = f.counter("hookpipe_fanout_undecodable_total", "Records on the events topic that fanout could not decode and skipped.")
	m.fanoutOutputs = f.counterVec("hookpipe_fanout_outputs_total", "Webhook bodies written to connector topics.", "connector")
	m.delivered = f.counterVec("hookpipe_delivered_total", "Requests acknowledged by the endpoint, by status class.", "connector", "class")
	m.failed = f.counterVec("hookpipe_delivery_failures_total", "Failed requests by class (4xx, 5xx, 3xx, timeout, network).", "connector", "class")
	m.duration = f.histogramVec("hookpipe_request_duration_seconds", "Duration of one webhook request.", "connector")
	m.endToEnd = f.histogramVec("hookpipe_end_to_end_seconds", "Ingest to endpoint acknowledgement latency.", "connector")
	m.inFlight = f.gaugeVec("hookpipe_in_flight", "Webhook requests in flight.", "connector")
	m.retried = f.counterVec("hookpipe_retried_total", "Events moved to a retry tier.", "connector", "tier")
	m.expired = f.counterVec("hookpipe_expired_total", "Events older than max_age moved to the DLQ, never sent again.", "connector")
	m.health = newHealthVecs(f)
	m.reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry to serve on /metrics and to add collectors
// (such as consumer lag) to.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// IngestRequest counts one ingest request answered with code.
func (m *Metrics) IngestRequest(code int) {
	if m != nil {
		m.ingestRequests.WithLabelValues(statusCode(code)).Inc()
	}
}

// IngestAccepted counts n events acknowledged by Kafka at ingest.
func (m *Metrics) IngestAccepted(n int) {
	if m != nil {
		m.ingestEvents.Add(float64(n))
	}
}

// FanoutRead counts one event read by fanout; decoded says whether it could
// be decoded.
func (m *Metrics) FanoutRead(decoded bool) {
	if m == nil {
		return
	}
	m.fanoutEvents.Inc()
	if !decoded {
		m.fanoutSkipped.Inc()
	}
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    name,
		Help:    help,
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
	}, labels)
	f.reg.MustRegister(h)
	return h
}

func statusCode(code int) string {
	switch {
	case code >= 100 && code < 600:
		return string([]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)})
	default:
		return "other"
	}
}
