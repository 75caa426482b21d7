package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/mqtt"
)

// nodeMetrics are the Prometheus figures of a node's background work,
// served at /metrics beside the HTTP server's own: ingest lag and queue
// depths, the writer's commits, the broker, alerts, notifications and
// plan times. Counters and gauges read the components' own Stats when
// scraped; the two histograms are fed by the node's hooks.
type nodeMetrics struct {
	reg  *prometheus.Registry
	lag  prometheus.Histogram
	plan *prometheus.HistogramVec
}

// newNodeMetrics builds the registry of n, whose writer, alert engine and
// notifier must exist.
func newNodeMetrics(n *node) *nodeMetrics {
	m := &nodeMetrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "civic_ingest_lag_seconds",
		Help:    "Time from a reading's sensor timestamp to its commit, per committed batch (its newest reading).",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600},
	})
	m.plan = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "civic_plan_seconds",
		Help:    "Time to make a day's plan (inputs, travel matrix, solver, save), by result: ok or error.",
		Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 300},
	}, []string{"result"})
	m.reg.MustRegister(m.lag, m.plan)

	w, e, no := n.writer, n.engine, n.notifier
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	gauge("civic_ingest_queue_batches", "Batches waiting for the ingest writer's commit loop.",
		func() float64 { return float64(w.Stats().Queued) })
	counter("civic_ingest_readings_accepted_total", "Readings newly stored by the ingest writer (HTTP, MQTT, LoRaWAN).",
		func() float64 { return float64(w.Stats().ReadingsAccepted) })
	counter("civic_ingest_readings_duplicate_total", "Readings the ingest writer found already stored.",
		func() float64 { return float64(w.Stats().ReadingsDuplicate) })
	counter("civic_ingest_readings_rejected_total", "Readings in batches that failed validation.",
		func() float64 { return float64(w.Stats().ReadingsRejected) })
	counter("civic_ingest_commits_total", "Ingest transactions attempted.",
		func() float64 { return float64(w.Stats().Commits) })
	counter("civic_ingest_commit_errors_total", "Ingest transactions that failed.",
		func() float64 { return float64(w.Stats().CommitErrors) })
	counter("civic_ingest_commit_seconds_total", "Time the ingest writer spent in the store.",
		func() float64 { return w.Stats().CommitSeconds })
	gauge("civic_alert_queue_batches", "Committed batches waiting for the alert rules.",
		func() float64 { return float64(e.Stats().Queued) })
	counter("civic_alerts_opened_total", "Alerts the rules opened on this node.",
		func() float64 { return float64(e.Stats().Opened) })
	counter("civic_alerts_resolved_total", "Alerts the rules resolved on this node because their condition cleared.",
		func() float64 { return float64(e.Stats().Resolved) })
	counter("civic_alert_sweeps_total", "Alert sweeps this node ran (the node holding the sweep lock).",
		func() float64 { return float64(e.Stats().Sweeps) })
	counter("civic_alert_dropped_batches_total", "Committed batches the alert rules skipped because their queue was full.",
		func() float64 { return float64(e.Stats().Dropped) })
	counter("civic_notifications_sent_total", "Notifications delivered.",
		func() float64 { return float64(no.Stats().Sent) })
	counter("civic_notifications_failed_total", "Notifications given up on.",
		func() float64 { return float64(no.Stats().Failed) })
	f := n.forecasts
	counter("civic_forecast_trainings_total", "Forecast model trainings completed on this node.",
		func() float64 { return float64(f.Stats().Trainings) })
	gauge("civic_forecast_trained_readings", "Fill readings the last forecast training was fitted on (its window).",
		func() float64 { return float64(f.Stats().Readings) })
	gauge("civic_forecast_observed_readings", "Fill readings the forecast model observed since its last training.",
		func() float64 { return float64(f.Stats().Observed) })
	gauge("civic_forecast_training_seconds", "How long the last forecast training took, reading the store included.",
		func() float64 { return f.Stats().LastDuration.Seconds() })
	counter("civic_forecast_dropped_batches_total", "Committed batches the forecast model skipped because its queue was full (a retraining reads them).",
		func() float64 { return float64(f.Stats().Dropped) })
	r := n.retention
	counter("civic_retention_readings_removed_total", "Readings the retention job removed on this node.",
		func() float64 { return float64(r.Stats().Readings) })
	counter("civic_retention_device_events_removed_total", "Device events the retention job removed on this node.",
		func() float64 { return float64(r.Stats().DeviceEvents) })
	return m
}

// broker adds the embedded broker's figures, once it runs.
func (m *nodeMetrics) broker(b *mqtt.Broker) {
	if b == nil {
		return
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civic_mqtt_connected_devices", Help: "Devices connected to the embedded broker."},
		func() float64 { return float64(b.Stats().Connected) })
	msgs := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "civic_mqtt_messages_total", Help: "Messages on uplink topics of the embedded broker."},
		func() float64 { return float64(b.Stats().Messages) })
	bad := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "civic_mqtt_messages_rejected_total", Help: "Malformed or invalid MQTT messages, dropped."},
		func() float64 { return float64(b.Stats().Malformed) })
	m.reg.MustRegister(gauge, msgs, bad)
}

// committed observes the lag of each committed batch.
func (m *nodeMetrics) committed(rs []civic.Reading) {
	var newest time.Time
	for i := range rs {
		if rs[i].Time.After(newest) {
			newest = rs[i].Time
		}
	}
	if !newest.IsZero() {
		m.lag.Observe(max(time.Since(newest).Seconds(), 0))
	}
}

// planned observes a plan's making.
func (m *nodeMetrics) planned(took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.plan.WithLabelValues(result).Observe(took.Seconds())
}
