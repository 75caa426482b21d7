package main

import (
	"context"
	"flag"
	"time"

	"github.com/civic-city/civic/internal/retention"
)

// opsConfig is the part of config for operations: how long telemetry is
// kept and how often the cluster's singleton jobs look for work.
type opsConfig struct {
	RetainReadings time.Duration // 0: keep forever
	RetainEvents   time.Duration // device events; 0: keep forever
	JobInterval    time.Duration // alert sweep, nightly plan check, retention
}

const opsUsage = `  --retain-readings DURATION       remove readings older than this, e.g. 8760h (a year); 0 keeps them
                                   (default 0; env CIVIC_RETAIN_READINGS); on PostgreSQL whole months are dropped
  --retain-device-events DURATION  remove device events older than this (default 0: keep; env CIVIC_RETAIN_DEVICE_EVENTS)
  --job-interval DURATION          how often one node of a cluster sweeps alerts, checks the nightly plan and
                                   prunes (default 1m; retention runs at most hourly; env CIVIC_JOB_INTERVAL)`

// opsFlags registers the flags of opsConfig.
func opsFlags(fs *flag.FlagSet, c *opsConfig, getenv func(string) string) {
	dur := func(env string, def time.Duration) time.Duration {
		if d, err := time.ParseDuration(getenv(env)); err == nil && d >= 0 {
			return d
		}
		return def
	}
	fs.DurationVar(&c.RetainReadings, "retain-readings", dur("CIVIC_RETAIN_READINGS", 0), "remove readings older than this; 0 keeps them (env CIVIC_RETAIN_READINGS)")
	fs.DurationVar(&c.RetainEvents, "retain-device-events", dur("CIVIC_RETAIN_DEVICE_EVENTS", 0), "remove device events older than this; 0 keeps them (env CIVIC_RETAIN_DEVICE_EVENTS)")
	fs.DurationVar(&c.JobInterval, "job-interval", dur("CIVIC_JOB_INTERVAL", time.Minute), "how often singleton jobs look for work (env CIVIC_JOB_INTERVAL)")
}

// checkOps validates opsConfig.
func (c *opsConfig) check() error {
	if c.RetainReadings < 0 || c.RetainEvents < 0 {
		return usageErrorf("--retain-readings and --retain-device-events must not be negative")
	}
	if c.RetainReadings > 0 && c.RetainReadings < 24*time.Hour {
		return usageErrorf("--retain-readings must be at least 24h: the forecasts and alerts read the last days")
	}
	if c.JobInterval < time.Second {
		return usageErrorf("--job-interval must be at least 1s")
	}
	return nil
}

// nodeOps are the node's operations jobs.
type nodeOps struct {
	retention *retention.Job
}

// openRetention builds the node's retention job.
func (n *node) openRetention() {
	n.retention = retention.New(retention.Options{
		Store: n.app.store, Readings: n.c.RetainReadings, DeviceEvents: n.c.RetainEvents,
		Every: max(n.c.JobInterval, time.Hour), Singleton: n.singleton, Now: n.app.now, Logger: n.log,
	})
}

// startOps starts the operations jobs (retention).
func (n *node) startOps(ctx context.Context) error { return n.retention.Start(ctx) }

// closeOps stops them.
func (n *node) closeOps(ctx context.Context) error { return n.retention.Close(ctx) }
