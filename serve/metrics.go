package serve

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency histogram.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// endpoints are the label values of the path label; anything else is "other", so a client
// cannot grow the metrics by inventing paths.
var endpoints = []string{"/v1/embed", "/v1/search", "/healthz", "/metrics", "other"}

// metrics counts requests per endpoint and status and keeps a latency histogram per endpoint,
// written in the Prometheus text exposition format (version 0.0.4) by hand.
type metrics struct {
	mu       sync.Mutex
	start    time.Time
	requests map[string]map[int]uint64 // path → status → count
	errors   map[string]uint64         // path → responses with status ≥ 400
	hist     map[string]*histogram
	inflight int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	m := &metrics{start: time.Now(), requests: map[string]map[int]uint64{}, errors: map[string]uint64{}, hist: map[string]*histogram{}}
	for _, e := range endpoints {
		m.requests[e] = map[int]uint64{}
		m.hist[e] = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
	}
	return m
}

func endpointLabel(path string) string {
	for _, e := range endpoints {
		if e == path {
			return e
		}
	}
	return "other"
}

func (m *metrics) begin() {
	m.mu.Lock()
	m.inflight++
	m.mu.Unlock()
}

// observe records one finished request.
func (m *metrics) observe(path string, status int, d time.Duration) {
	path = endpointLabel(path)
	s := d.Seconds()
	b := sort.SearchFloat64s(latencyBuckets, s) // first bound ≥ s
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	m.requests[path][status]++
	if status >= 400 {
		m.errors[path]++
	}
	h := m.hist[path]
	h.counts[b]++
	h.sum += s
	h.n++
}

// gauge is an extra value written with the metrics.
type gauge struct {
	name, help, kind string
	value            float64
}

// write writes the exposition.
func (m *metrics) write(w io.Writer, extra []gauge) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP contrastive_http_requests_total HTTP requests by endpoint and status code.")
	fmt.Fprintln(w, "# TYPE contrastive_http_requests_total counter")
	for _, e := range endpoints {
		codes := make([]int, 0, len(m.requests[e]))
		for c := range m.requests[e] {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "contrastive_http_requests_total{path=%q,code=\"%d\"} %d\n", e, c, m.requests[e][c])
		}
	}
	fmt.Fprintln(w, "# HELP contrastive_http_request_errors_total HTTP responses with a status of 400 or more, by endpoint.")
	fmt.Fprintln(w, "# TYPE contrastive_http_request_errors_total counter")
	for _, e := range endpoints {
		fmt.Fprintf(w, "contrastive_http_request_errors_total{path=%q} %d\n", e, m.errors[e])
	}
	fmt.Fprintln(w, "# HELP contrastive_http_request_duration_seconds Time from reading the request to writing the response.")
	fmt.Fprintln(w, "# TYPE contrastive_http_request_duration_seconds histogram")
	for _, e := range endpoints {
		h := m.hist[e]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "contrastive_http_request_duration_seconds_bucket{path=%q,le=\"%s\"} %d\n", e, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.counts[len(latencyBuckets)]
		fmt.Fprintf(w, "contrastive_http_request_duration_seconds_bucket{path=%q,le=\"+Inf\"} %d\n", e, cum)
		fmt.Fprintf(w, "contrastive_http_request_duration_seconds_sum{path=%q} %s\n", e, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(w, "contrastive_http_request_duration_seconds_count{path=%q} %d\n", e, h.n)
	}
	fmt.Fprintln(w, "# HELP contrastive_http_requests_in_flight Requests being served now.")
	fmt.Fprintln(w, "# TYPE contrastive_http_requests_in_flight gauge")
	fmt.Fprintf(w, "contrastive_http_requests_in_flight %d\n", m.inflight)
	extra = append(extra, gauge{"contrastive_uptime_seconds", "Seconds since the server started.", "gauge", time.Since(m.start).Seconds()})
	for _, g := range extra {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", g.name, g.help, g.name, g.kind, g.name, strconv.FormatFloat(g.value, 'g', -1, 64))
	}
}
