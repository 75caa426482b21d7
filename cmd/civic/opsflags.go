package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/civic-city/civic/internal/retention"
	"github.com/civic-city/civic/internal/server"
)

// opsConfig is the part of config for operations: how long telemetry is
// kept and how often the cluster's singleton jobs look for work.
type opsConfig struct {
	RetainReadings time.Duration // 0: keep forever
	RetainEvents   time.Duration // device events; 0: keep forever
	JobInterval    time.Duration // alert sweep, nightly plan check, retention
	PprofAddr      string        // loopback address serving Go's profiles; empty: none
}

const opsUsage = `  --retain-readings DURATION       remove readings older than this, e.g. 8760h (a year); 0 keeps them
                                   (default 0; env CIVIC_RETAIN_READINGS); on PostgreSQL whole months are dropped
  --retain-device-events DURATION  remove device events older than this (default 0: keep; env CIVIC_RETAIN_DEVICE_EVENTS)
  --job-interval DURATION          how often one node of a cluster sweeps alerts, checks the nightly plan and
                                   prunes (default 1m; retention runs at most hourly; env CIVIC_JOB_INTERVAL)
  --pprof-addr ADDR                serve Go's runtime profiles (/debug/pprof/: heap, goroutine, CPU) on this
                                   loopback address, e.g. 127.0.0.1:6060, for diagnosing memory and CPU; off by
                                   default; not on other addresses, and without authentication (env CIVIC_PPROF_ADDR)`

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
	fs.StringVar(&c.PprofAddr, "pprof-addr", getenv("CIVIC_PPROF_ADDR"), "loopback address serving Go's runtime profiles at /debug/pprof/; empty: off (env CIVIC_PPROF_ADDR)")
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
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if err != nil {
			return usageErrorf("--pprof-addr: %v", err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return usageErrorf("--pprof-addr must be a loopback address such as 127.0.0.1:6060: the profiles have no authentication")
		}
	}
	return nil
}

// nodeOps are the node's operations jobs.
type nodeOps struct {
	retention    *retention.Job
	stopProfiles func() // --pprof-addr's listener
}

// openRetention builds the node's retention job.
func (n *node) openRetention() {
	n.retention = retention.New(retention.Options{
		Store: n.app.store, Readings: n.c.RetainReadings, DeviceEvents: n.c.RetainEvents,
		Every: max(n.c.JobInterval, time.Hour), Singleton: n.singleton, Now: n.app.now, Logger: n.log,
	})
}

// startOps starts the operations jobs (retention) and the profile
// listener of --pprof-addr.
func (n *node) startOps(ctx context.Context) error {
	if n.c.PprofAddr != "" {
		ln, err := net.Listen("tcp", n.c.PprofAddr)
		if err != nil {
			return fmt.Errorf("profile listener on %s: %w (choose another with --pprof-addr)", n.c.PprofAddr, err)
		}
		n.stopProfiles = server.ServeProfiles(ln, n.log)
		fmt.Fprintf(n.e.stdout, "civic: profiles on http://%s/debug/pprof/\n", ln.Addr())
	}
	return n.retention.Start(ctx)
}

// closeOps stops them.
func (n *node) closeOps(ctx context.Context) error {
	if n.stopProfiles != nil {
		n.stopProfiles()
	}
	return n.retention.Close(ctx)
}
