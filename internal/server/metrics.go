package server

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	routesMu sync.Mutex
	routes   map[string]bool // route labels in use, at most maxRouteLabels

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	readings *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civic_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "civic_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "civic_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		readings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civic_http_ingest_readings_total",
			Help: "Readings received over HTTP by result: accepted (newly stored) or duplicate.",
		}, []string{"result"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.inflight = register(reg, m.inflight)
	m.readings = register(reg, m.readings)
	return m
}

// register adds c to reg, or returns the collector already registered
// under the same name (several servers may share one registry in tests).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic("server: registering metrics: " + err.Error())
	}
	return c
}

// observe counts a finished request. Every label value comes from a fixed
// set, never from the request as sent: the method is one of methodLabels,
// the route a pattern of the route table (or "unmatched"), the code one
// the server wrote. A client inventing methods or paths cannot grow
// /metrics.
func (m *metrics) observe(method, route string, code int, d time.Duration) {
	method, route = methodLabel(method), m.routeLabel(route)
	m.requests.WithLabelValues(method, route, codeLabel(code)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// maxRouteLabels bounds the route label's values. The route table and the
// pages' mux are far smaller; the bound catches a handler that one day
// labels with something else (a redirect's target, say).
const maxRouteLabels = 500

func (m *metrics) routeLabel(route string) string {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if m.routes[route] {
		return route
	}
	if len(m.routes) >= maxRouteLabels {
		return "other"
	}
	if m.routes == nil {
		m.routes = map[string]bool{}
	}
	m.routes[route] = true
	return route
}

// methodLabels are the methods the metrics name; any other is "other".
var methodLabels = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS",
}

func methodLabel(m string) string {
	if l, ok := methodLabels[m]; ok {
		return l
	}
	return "other"
}

// codeLabel is the status code as a label; codes outside 100..599 (which
// net/http never sends) are "other".
func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
