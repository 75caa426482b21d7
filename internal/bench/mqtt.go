package bench

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/store"
)

// MQTTOptions configures the MQTT benchmark. cmd/civic validates them.
type MQTTOptions struct {
	DB         string        // PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); empty: SQLite in a temporary folder
	Devices    int           // connected devices
	Messages   int           // messages per device
	PerMessage int           // readings per message, at most civic.MaxBatch; above 1, a JSON array
	Inflight   int           // messages each device publishes before waiting for a PUBACK, at most 65535
	Client     Client        // the devices' MQTT client
	Duration   time.Duration // how long each phase publishes; 0: Messages per device
	CPUProfile string        // where to write a CPU profile of the publishing phase; empty: none

	Out      io.Writer // the "mqtt: ..." line
	Progress io.Writer // what runs, progress bars, commit and CPU figures, broker errors
}

// A Client is the MQTT client the benchmark's devices run on.
type Client int

const (
	// LeanClient is leanDevice, a minimal MQTT 5 client, so that the
	// figure is mostly civic's own cost.
	LeanClient Client = iota
	// PahoClient is github.com/eclipse/paho.golang.
	PahoClient
)

// String returns the client's name on the command line: lean or paho.
func (c Client) String() string {
	if c == PahoClient {
		return "paho"
	}
	return "lean"
}

// MQTT measures MQTT ingest end to end: o.Devices devices connect to the
// embedded broker on loopback with their own credentials, each publishes
// readings at QoS 1 and waits for every PUBACK, which the broker sends only
// after the commit. At the end the store is checked reading by reading.
//
// In the same run, first, the same devices (the same client, ids,
// credentials, messages and pacing) publish to a bare broker: the same
// MQTT server library with a hook that lets every device in, and a
// PUBACK on receipt, nothing decoded or stored. That is the natural limit
// of MQTT ingest on this machine; the last line gives civic's rate as a
// fraction of it.
//
// With o.Duration set each phase publishes for that long (in rounds of
// a few messages per device), in mqttSlices slices taken in turns (bare,
// civic, bare, civic, ...) with both brokers up and the devices connected
// to both, so that a machine whose load changes during the run weighs on
// both phases alike (see mqttSlices). Without o.Duration, or with a CPU
// profile, each device sends o.Messages (or publishes for o.Duration) to
// the bare broker, then to civic.
//
// The devices run in this process, so the CPU time reported covers them
// too. By default they use leanDevice, a minimal MQTT 5 client, so that
// the figure is mostly civic's own cost; PahoClient runs them on
// github.com/eclipse/paho.golang instead.
func MQTT(ctx context.Context, o MQTTOptions) error {
	dial := dialLean
	if o.Client == PahoClient {
		dial = dialPaho
	}
	engine := "sqlite"
	if o.DB != "" {
		engine = "postgres"
	}
	span := fmt.Sprintf("%d messages", o.Messages)
	if o.Duration > 0 {
		span = o.Duration.String() + " of messages"
	}
	order := "the bare broker first, then civic"
	if o.Duration > 0 && o.CPUProfile == "" && mqttSlices > 1 {
		order = fmt.Sprintf("the bare broker and civic in turns, %d slices of %s each", mqttSlices, o.Duration/mqttSlices)
	}
	fmt.Fprintf(o.Progress, "bench mqtt: %s, %d devices × %s of %d reading(s) at QoS 1, %d in flight per device, %s client; %s\n",
		engine, o.Devices, span, o.PerMessage, o.Inflight, o.Client, order)

	st, cleanup, err := openStore(ctx, o.DB)
	if err != nil {
		return err
	}
	defer cleanup()
	secrets, err := registerMQTT(ctx, st, o.Devices)
	if err != nil {
		return err
	}
	// Sensor times: one reading per device per second, from three weeks
	// ago; reading i of a device is in message i / perMessage.
	base := time.Now().Add(-21 * 24 * time.Hour).Truncate(time.Second)

	// Both brokers.
	bare, err := startBareBroker()
	if err != nil {
		return err
	}
	defer bare.close()
	quiet := slog.New(slog.DiscardHandler)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Logger: quiet})
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Close(context.Background())
	b, err := mqtt.NewBroker(w, mqtt.BrokerOptions{
		Addr:         "127.0.0.1:0",
		Authenticate: auth.DeviceAuthenticator(st),
		Logger:       slog.New(slog.NewTextHandler(o.Progress, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	defer b.Close(context.Background())

	bareP := &mqttPhaseRun{name: "bare broker", addr: bare.addr}
	civicP := &mqttPhaseRun{name: "civic", addr: b.Addr()}
	for _, p := range []*mqttPhaseRun{bareP, civicP} {
		if p.clients, err = connectDevices(ctx, o.Progress, p.addr, secrets, dial); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		defer p.close()
		p.res = &phaseResult{ackedBy: make([][]bool, len(p.clients))}
	}
	nSlices, slice := 1, o.Duration
	if o.Duration > 0 && o.CPUProfile == "" {
		nSlices, slice = mqttSlices, o.Duration/mqttSlices
	}
	for i := range nSlices {
		if err := bareP.run(ctx, o, slice, base, ""); err != nil {
			return fmt.Errorf("bare broker: %w", err)
		}
		if err := civicP.run(ctx, o, slice, base, o.CPUProfile); err != nil {
			return err
		}
		if nSlices > 1 {
			fmt.Fprintf(o.Progress, "slice %d of %d: bare broker %.0f, civic %.0f readings/s so far\n", i+1, nSlices,
				bareP.res.rates()*float64(o.PerMessage), civicP.res.rates()*float64(o.PerMessage))
		}
	}
	bareRes, res := bareP.res, civicP.res
	bareRes.rate, res.rate = bareRes.rates(), res.rates()
	bareRate := bareRes.rate * float64(o.PerMessage)
	fmt.Fprintf(o.Progress, "bare broker: %d messages acknowledged in %s, %.0f readings/s; CPU %s\n",
		bareRes.acked, bareRes.elapsed.Round(time.Millisecond), bareRate, bareRes.cpu.Round(time.Millisecond))

	rate := res.rate * float64(o.PerMessage)
	ws, bs := w.Stats(), b.Stats()
	fmt.Fprintf(o.Progress, "civic: published %d, acknowledged %d, refused %d in %s (%.0f messages/s); %d commits (%.1f messages each, at most %d), %.1f ms mean commit\n",
		res.published, res.acked, res.refused, res.elapsed.Round(time.Millisecond), res.rate, ws.Commits,
		float64(ws.Batches)/float64(max(ws.Commits, 1)), ws.MaxBatchesInCommit, ws.CommitSeconds/float64(max(ws.Commits, 1))*1000)
	perMsg := res.cpu.Seconds() / float64(max(res.acked, 1)) * 1e6
	barePerMsg := bareRes.cpu.Seconds() / float64(max(bareRes.acked, 1)) * 1e6
	fmt.Fprintf(o.Progress, "CPU while publishing: %s, %.1f µs per message, %.1f µs per reading (the whole process: devices, broker, writer, store); bare broker %.1f µs per message; CPU ratio %.2f\n",
		res.cpu.Round(time.Millisecond), perMsg, perMsg/float64(o.PerMessage), barePerMsg, barePerMsg/max(perMsg, 1e-9))
	if bs.Malformed+bs.Transient > 0 {
		fmt.Fprintf(o.Progress, "broker: %d malformed, %d transient failures\n", bs.Malformed, bs.Transient)
	}

	// Check every acknowledged reading is stored, once.
	var lost, dups int
	for d := range o.Devices {
		rows, err := st.Readings(ctx, civic.ReadingQuery{Device: deviceID(d)})
		if err != nil {
			return err
		}
		seen := make(map[int64]int, len(rows))
		for _, r := range rows {
			seen[r.Time.UnixMilli()]++
		}
		for m, ok := range res.ackedBy[d] {
			for k := range o.PerMessage {
				i := m*o.PerMessage + k
				if ok && seen[base.Add(time.Duration(i)*time.Second).UnixMilli()] == 0 {
					lost++
				}
			}
		}
		for _, n := range seen {
			dups += n - 1
		}
	}
	fmt.Fprintf(o.Out, "mqtt: %.0f readings/s, lost %d, duplicates stored %d; broker-only %.0f/s; ratio %.2f\n",
		rate, lost, dups, bareRate, rate/bareRate)
	if lost > 0 || dups > 0 || res.refused > 0 {
		return fmt.Errorf("%d acknowledged readings lost, %d stored twice, %d messages refused", lost, dups, res.refused)
	}
	return nil
}

// phaseResult is what the devices saw in one phase of the MQTT benchmark.
type phaseResult struct {
	ackedBy          [][]bool // device → message → PUBACK with success
	published, acked int64
	refused          int64
	elapsed, cpu     time.Duration
	// rate is messages acknowledged a second: over the whole phase, or
	// with a Duration over that window only (the devices' last rounds,
	// finishing after it, are left out, in both phases alike).
	rate float64
	// inWindow counts the messages acknowledged within the phase's
	// windows (its slices' durations), which add up to window.
	inWindow int64
	window   time.Duration
}

// rates is the phase's rate so far: messages acknowledged a second, over
// its windows when it ran for durations, else over its elapsed time.
func (r *phaseResult) rates() float64 {
	if r.window > 0 {
		return float64(r.inWindow) / r.window.Seconds()
	}
	return float64(r.acked) / max(r.elapsed.Seconds(), 1e-9)
}

// mqttSlices is how many slices of o.Duration each phase of the MQTT
// benchmark runs, in turns with the other phase. Four slices of 2.5 s
// gave more consistent ratios on a machine whose load changed (0.61 and
// 0.60 where one slice gave 0.74 and 0.49), but on a quiet one they
// lowered civic's rate (ratios 0.46 and 0.53 against 0.58): each slice
// starts civic's group commit from nothing again. One, until slices are
// long enough not to bias the figure.
const mqttSlices = 1

// mqttPhaseRun is one phase of the MQTT benchmark: its broker, its
// devices (connected for the whole run) and what they saw so far.
type mqttPhaseRun struct {
	name, addr string
	clients    []mqttDevice
	res        *phaseResult
}

func (p *mqttPhaseRun) close() {
	for _, c := range p.clients {
		c.close()
	}
}

// mqttRound is how many messages a device publishes at a time when the
// phase runs for a duration: small, so that every device stops soon after
// the time is up.
const mqttRound = 10

// run has the phase's devices publish (o.Messages each, or for dur) and
// adds what they saw to p.res; message numbers continue from the
// phase's previous runs.
func (p *mqttPhaseRun) run(ctx context.Context, o MQTTOptions, dur time.Duration, base time.Time, cpuProfile string) error {
	name, clients, res := p.name, p.clients, p.res
	var published, ackedN, inWindow, refused atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup

	stopProfile := func() {}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		var once sync.Once
		stopProfile = func() { once.Do(pprof.StopCPUProfile) }
		defer stopProfile()
	}
	done := make(chan struct{})
	cpuBegin := route.ProcessCPUClock()
	begin := time.Now()
	go func() { // progress, once a second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(o.Progress, "%s: %4.0f s, %d messages acknowledged\n", name, time.Since(begin).Seconds(), ackedN.Load())
			}
		}
	}()
	for d, c := range clients {
		topic := ingest.Topic(deviceID(d))
		wg.Go(func() {
			for round := 0; ; round++ {
				n := o.Messages
				if dur > 0 {
					if time.Since(begin) >= dur {
						return
					}
					n = mqttRound
				} else if round > 0 {
					return
				}
				off := len(res.ackedBy[d])
				res.ackedBy[d] = append(res.ackedBy[d], make([]bool, n)...)
				published.Add(int64(n))
				payload := func(dst []byte, m int) []byte { return mqttPayload(dst, base, d, off+m, o.PerMessage) }
				err := c.publish(ctx, topic, n, o.Inflight, payload, func(m int, ok bool) {
					if !ok {
						refused.Add(1)
						return
					}
					res.ackedBy[d][off+m] = true
					ackedN.Add(1)
					if dur > 0 && time.Since(begin) <= dur {
						inWindow.Add(1)
					}
				})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("device %s: %w", deviceID(d), err) })
					return
				}
			}
		})
	}
	wg.Wait()
	res.elapsed += time.Since(begin)
	res.cpu += route.ProcessCPUClock().Sub(cpuBegin)
	close(done)
	stopProfile()
	if firstErr != nil {
		return firstErr
	}
	res.published += published.Load()
	res.acked += ackedN.Load()
	res.refused += refused.Load()
	if dur > 0 {
		res.inWindow += inWindow.Load()
		res.window += dur
	}
	return nil
}

// mqttPayload appends message m of device d: one reading object, or an
// array of perMessage readings.
func mqttPayload(dst []byte, base time.Time, d, m, perMessage int) []byte {
	if perMessage > 1 {
		dst = append(dst, '[')
	}
	for k := range perMessage {
		i := m*perMessage + k
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"time":"`...)
		dst = base.Add(time.Duration(i)*time.Second).AppendFormat(dst, time.RFC3339)
		dst = append(dst, `","fill":`...)
		dst = strconv.AppendFloat(dst, float64((d+i)%100)/100, 'f', 2, 64)
		dst = append(dst, `,"battery":0.9,"temperature_c":`...)
		dst = strconv.AppendFloat(dst, 10+float64(i%50)/10, 'f', 1, 64)
		dst = append(dst, '}')
	}
	if perMessage > 1 {
		dst = append(dst, ']')
	}
	return dst
}

// registerMQTT registers bins and devices with random MQTT secrets,
// stored hashed as civic does for real devices, and returns the secrets.
func registerMQTT(ctx context.Context, st *store.Store, devices int) ([]string, error) {
	bins := make([]civic.Bin, devices)
	for i := range bins {
		bins[i] = civic.Bin{ID: binID(i), Name: "Bench bin " + binID(i), Lat: 39.9 + float64(i%100)*0.001, Lon: -75.2 + float64(i/100)*0.001, Stream: civic.StreamTrash, CapacityL: 240}
		bins[i].Normalize()
	}
	if err := st.ImportBins(ctx, bins); err != nil {
		return nil, err
	}
	secrets := make([]string, devices)
	for i := range devices {
		var raw [20]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		secrets[i] = base32.StdEncoding.EncodeToString(raw[:])
		d := civic.Device{ID: deviceID(i), BinID: binID(i), FillScale: civic.ScaleFraction, SecretHash: auth.HashSecret(secrets[i])}
		if err := st.CreateDevice(ctx, &d); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// connectDevices connects one device per secret, 64 at a time.
func connectDevices(ctx context.Context, progress io.Writer, addr string, secrets []string, dial deviceDialer) ([]mqttDevice, error) {
	clients := make([]mqttDevice, len(secrets))
	bar := progressbar.NewOptions(len(secrets), progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("MQTT connect"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i, secret := range secrets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := deviceID(i)
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := dial(cctx, addr, id, secret)
			cancel()
			if err == nil {
				clients[i] = c
				_ = bar.Add(1)
				return
			}
			mu.Lock()
			errs = append(errs, fmt.Errorf("device %s: connect: %w", id, err))
			mu.Unlock()
		})
	}
	wg.Wait()
	_ = bar.Finish()
	if len(errs) > 0 {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
		return nil, errors.Join(errs[0], fmt.Errorf("%d of %d devices could not connect", len(errs), len(secrets)))
	}
	return clients, nil
}
