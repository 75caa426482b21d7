package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
)

// CrashOptions configures a crash run. cmd/civic validates them.
type CrashOptions struct {
	Bin         string        // the civic binary to run as the server
	Data        string        // data folder, which must not hold a database yet; empty: a temporary one, removed afterwards
	Kills       int           // SIGKILLs while senders are publishing
	Duration    time.Duration // how long senders send new readings; the kills fall inside it
	Senders     int           // HTTP senders, each with its own devices
	Batch       int           // readings per HTTP request, at most civic.MaxBatch
	Devices     int           // HTTP devices, shared out among the senders; at least Senders
	MQTTDevices int           // MQTT devices: one connection, one reading per message each
	Seed        int64         // for the kill times
	Drain       time.Duration // after Duration, how long senders may take to get everything acknowledged
	Pause       time.Duration // between an HTTP sender's acknowledged requests; tests use it to keep the database small
	// Graceful stops the server with SIGTERM instead of SIGKILL, each
	// time and at the end, and requires it to exit with status 0 within
	// 30 s: a clean shutdown drains what it accepted.
	Graceful bool

	Out      io.Writer // the verdict, "crash: ..."; nil: none
	Progress io.Writer // what happens: server starts, kills, the senders' and the check's figures
}

// CrashKill is what one SIGKILL interrupted.
type CrashKill struct {
	At         time.Duration // since senders started
	HTTP, MQTT int           // requests and messages waiting for their acknowledgement
	Restart    time.Duration // from SIGKILL to the new server reporting its HTTP and MQTT addresses
	Stop       time.Duration // from the signal to the server's exit
}

// CrashResult is what a crash run measured and found.
type CrashResult struct {
	Kills          []CrashKill
	HTTPBatches    int // acknowledged requests
	HTTPReadings   int // in them
	MQTTMessages   int // acknowledged messages, one reading each
	Acknowledged   int // readings: HTTPReadings + MQTTMessages
	HTTPRetries    int // requests sent again after no 202
	MQTTRetries    int // messages published again after no PUBACK
	AckLost        int // readings a resent request found stored: committed before a kill that lost the 202
	Partial        int // resent requests found partly stored; a batch commits whole, so this must be 0
	Stored         int // rows in readings
	Distinct       int // distinct (device, time) among them
	Missing        int // acknowledged readings not stored
	Duplicates     int // rows beyond one per (device, time)
	Unacknowledged int // stored readings never acknowledged (none once every send was acknowledged)
	Unexpected     int // stored rows no sender sent, or not with the values sent
	// StaleStates counts the bins whose live state, once the database is
	// opened again, is not their newest stored reading (each device has a
	// bin of its own): the SQLite writer keeps states back for a moment
	// under sustained ingest, and a kill must not lose them.
	StaleStates int
}

// failure says what the run disproved, or nil.
func (r *CrashResult) failure() error {
	if r.Missing == 0 && r.Duplicates == 0 && r.Unexpected == 0 && r.Partial == 0 && r.StaleStates == 0 {
		return nil
	}
	return fmt.Errorf("crash: %d kills, %d acknowledged readings: %d missing, %d duplicates, %d unexpected rows, %d resent batches partly stored, %d bins with a stale live state",
		len(r.Kills), r.Acknowledged, r.Missing, r.Duplicates, r.Unexpected, r.Partial, r.StaleStates)
}

// The readings are laid out so that the check can tell from a stored row
// alone who sent it and whether it was acknowledged: a device's n-th
// reading is at the run's base time (three weeks ago) + n seconds, and its
// fill is a function of the device (or HTTP sender) and n.
func crashHTTPDevice(i int) string { return fmt.Sprintf("CH-%04d", i) }
func crashMQTTDevice(i int) string { return fmt.Sprintf("CM-%04d", i) }

func crashHTTPFill(sender, n int) float64 { return float64((n*7+sender*13)%101) / 100 }
func crashMQTTFill(device, k int) float64 { return float64((k*3+device*11)%101) / 100 }

// Crash is `civic bench ingest --crash`: durability under SIGKILL. It runs
// the civic binary o.Bin as a child `civic serve`, sends readings to it
// over HTTP (batches) and MQTT (QoS 1) while killing it with SIGKILL at
// random moments and restarting it on the same data folder; senders
// resend whatever was not acknowledged, the same readings, until it is.
// Then it kills the server a last time, opens the database itself and
// proves that every acknowledged reading is stored and none twice.
//
// The error is nil only when every acknowledged reading is stored exactly
// once, and then the last line written to o.Out is "crash: K kills, N
// acknowledged readings, all stored, 0 duplicates". The result is filled
// as far as the run got. A data folder that already holds a database is
// an *OptionError.
func Crash(ctx context.Context, o CrashOptions) (res *CrashResult, err error) {
	res = &CrashResult{}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	data := o.Data
	if data == "" {
		tmp, err := os.MkdirTemp("", "civic-crash-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(tmp)
		data = tmp
	} else if err := os.MkdirAll(data, 0o750); err != nil {
		return res, err
	}
	dbPath := filepath.Join(data, "civic.db")
	if _, err := os.Stat(dbPath); err == nil {
		return res, &OptionError{fmt.Sprintf("%s already holds a database; the check counts every row, so give an empty folder", data)}
	}
	fmt.Fprintf(o.Progress, "bench ingest --crash: %d kills in %s; %d HTTP senders × %d devices in batches of %d; %d MQTT devices at QoS 1; seed %d\n",
		o.Kills, o.Duration, o.Senders, o.Devices, o.Batch, o.MQTTDevices, o.Seed)

	key, err := crashKey(ctx, o.Bin, dbPath)
	if err != nil {
		return res, err
	}
	logFile, err := os.OpenFile(filepath.Join(data, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return res, err
	}
	defer logFile.Close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	srv := &crashServer{bin: o.Bin, db: dbPath, log: logFile, up: make(chan struct{}), died: cancel}
	defer srv.kill()
	if err := srv.start(runCtx); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Progress, "server up: %s, MQTT %s (log %s)\n", srv.httpBase, srv.mqttAddr, logFile.Name())

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Senders + 4, DisableCompression: true}}
	defer client.CloseIdleConnections()
	secrets, err := crashRegister(runCtx, client, srv.httpBase, key, o)
	if err != nil {
		return res, err
	}

	// Readings are a few weeks old: far enough back for hours of them at one
	// a second per device, all inside the accepted range.
	base := time.Now().UTC().Add(-21 * 24 * time.Hour).Truncate(time.Second)
	maxStep := int(20 * 24 * time.Hour / time.Second)
	run := &crashSenders{o: o, srv: srv, client: client, key: key, base: base, maxStep: maxStep, cancel: cancel}
	start := time.Now()
	run.start(runCtx, secrets)

	// Kill i falls at a random moment of the i-th of kills equal slots of
	// the duration, never before the server has been up for a moment.
	for i := range o.Kills {
		slot := o.Duration / time.Duration(o.Kills)
		at := time.Duration(i)*slot + time.Duration((0.2+0.6*rng.Float64())*float64(slot))
		wait := max(time.Until(start.Add(at)), 200*time.Millisecond)
		select {
		case <-time.After(wait):
		case <-runCtx.Done():
		}
		// Then strike while both kinds of sender wait for an acknowledgement
		// (for at most a couple of seconds). A SIGKILL is preceded by a
		// SIGSTOP: a frozen server cannot answer what it holds, so the
		// requests counted in flight below are the ones the kill really
		// interrupts (without it, one could be answered between the count
		// and the kill), and senders whose pause ends meanwhile join them.
		if !o.Graceful && srv.freeze() {
			_ = sleepCtx(runCtx, 20*time.Millisecond) // answers already written reach their senders
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && runCtx.Err() == nil; {
			if run.httpInflight.Load() > 0 && (o.MQTTDevices == 0 || run.mqttInflight.Load() > 0) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if runCtx.Err() != nil {
			break
		}
		k := CrashKill{At: time.Since(start), HTTP: int(run.httpInflight.Load()), MQTT: int(run.mqttInflight.Load())}
		killed := time.Now()
		if err := srv.stop(o.Graceful); err != nil {
			cancel(err)
			break
		}
		k.Stop = time.Since(killed)
		if err := srv.start(runCtx); err != nil {
			cancel(err)
			break
		}
		k.Restart = time.Since(killed)
		res.Kills = append(res.Kills, k)
		fmt.Fprintf(o.Progress, "%s %d/%d at %s: %d HTTP requests and %d MQTT messages unacknowledged; stopped in %s, restarted in %s\n",
			srv.signalName(o.Graceful), i+1, o.Kills, k.At.Round(time.Millisecond), k.HTTP, k.MQTT, k.Stop.Round(time.Millisecond), k.Restart.Round(time.Millisecond))
	}
	select {
	case <-time.After(time.Until(start.Add(o.Duration))):
	case <-runCtx.Done():
	}
	run.stopNew.Store(true)
	drain := time.AfterFunc(o.Drain, func() {
		cancel(fmt.Errorf("senders still had unacknowledged readings %s after the end of sending", o.Drain))
	})
	run.wg.Wait()
	drain.Stop()
	if err := context.Cause(runCtx); err != nil {
		return res, fmt.Errorf("%w\nserver log (end):\n%s", err, tailFile(logFile.Name(), 4096))
	}
	if err := run.firstErr(); err != nil {
		return res, err
	}
	res.HTTPRetries, res.MQTTRetries = int(run.httpRetries.Load()), int(run.mqttRetries.Load())
	res.AckLost, res.Partial = int(run.ackLost.Load()), int(run.partial.Load())
	for _, acked := range run.httpAcked {
		for _, ok := range acked {
			if ok {
				res.HTTPBatches++
				res.HTTPReadings += o.Batch // every batch is full
			}
		}
	}
	for _, acked := range run.mqttAcked {
		for _, ok := range acked {
			if ok {
				res.MQTTMessages++
			}
		}
	}
	res.Acknowledged = res.HTTPReadings + res.MQTTMessages
	fmt.Fprintf(o.Progress, "senders done in %s: %d HTTP requests (%d readings) and %d MQTT messages acknowledged; %d requests and %d messages sent again; %d readings found already stored on resend (committed, acknowledgement lost)\n",
		time.Since(start).Round(time.Millisecond), res.HTTPBatches, res.HTTPReadings, res.MQTTMessages,
		res.HTTPRetries, res.MQTTRetries, res.AckLost)

	// The last stop is a SIGKILL too (or the SIGTERM of a graceful run):
	// what was acknowledged just before it must be there without a clean
	// shutdown.
	if err := srv.stop(o.Graceful); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Progress, "server stopped (%s); reading back %s\n", srv.signalName(o.Graceful), dbPath)
	if err := run.check(ctx, dbPath, res); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Progress, "stored %d rows, %d distinct (device, time); acknowledged %d: %d missing, %d duplicates, %d stored but never acknowledged, %d unexpected; %d bins whose live state is not their newest reading\n",
		res.Stored, res.Distinct, res.Acknowledged, res.Missing, res.Duplicates, res.Unacknowledged, res.Unexpected, res.StaleStates)
	if err := res.failure(); err != nil {
		return res, err
	}
	if o.Out != nil {
		fmt.Fprintf(o.Out, "crash: %d kills, %d acknowledged readings, all stored, %d duplicates\n", len(res.Kills), res.Acknowledged, res.Duplicates)
	}
	return res, nil
}

// crashKeyLine is `civic key add`'s line with the secret.
var crashKeyLine = regexp.MustCompile(`(?m)^key: (\S+)$`)

// crashKey makes an admin API key with the CLI, as an operator would.
func crashKey(ctx context.Context, bin, dbPath string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "key", "add", "--scope", "admin", "--name", "crash-bench", "--db", "sqlite:"+dbPath)
	cmd.Env = ChildEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("civic key add: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	m := crashKeyLine.FindStringSubmatch(out.String())
	if m == nil {
		return "", fmt.Errorf("civic key add printed no key: %q", out.String())
	}
	return m[1], nil
}

// ChildEnv is the environment Crash gives the civic processes it starts,
// and tests that start civic should too: this process's, without CIVIC_*
// settings, which could point the server at another database.
func ChildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CIVIC_") {
			env = append(env, kv)
		}
	}
	return env
}

// crashServer runs `civic serve` as a child process, restartable on the
// same database.
type crashServer struct {
	bin, db string
	args    []string // further flags of civic serve
	log     *os.File
	died    func(error) // called when the server exits without being killed

	mu       sync.Mutex
	cur      *crashProc
	up       chan struct{} // closed while a server is up
	httpBase string        // http://host:port of the latest server
	mqttAddr string        // host:port of its MQTT broker
}

type crashProc struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	killing bool // guarded by crashServer.mu
}

var (
	crashListenLine = regexp.MustCompile(`^civic: listening on (http://\S+)`)
	crashMQTTLine   = regexp.MustCompile(`^civic: MQTT broker on (\S+)`)
)

// start starts a server and waits until it has reported both addresses.
func (s *crashServer) start(ctx context.Context) error {
	cmd := exec.Command(s.bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0",
		"--db", "sqlite:" + s.db, "--log-format", "text", "--log-level", "warn"}, s.args...)...)
	cmd.Env = ChildEnv()
	lines := make(chan string, 16)
	cmd.Stdout = &lineWriter{fn: func(l string) {
		select {
		case lines <- l:
		default:
		}
	}}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting civic serve: %w", err)
	}
	p := &crashProc{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		s.mu.Lock()
		unexpected := s.cur == p && !p.killing
		s.mu.Unlock()
		close(p.exited)
		if unexpected {
			s.died(fmt.Errorf("civic serve (pid %d) exited on its own: %v", cmd.Process.Pid, waitErr))
		}
	}()
	var httpBase, mqttAddr string
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for httpBase == "" || mqttAddr == "" {
		select {
		case l := <-lines:
			if m := crashListenLine.FindStringSubmatch(l); m != nil {
				httpBase = m[1]
			} else if m := crashMQTTLine.FindStringSubmatch(l); m != nil {
				mqttAddr = m[1]
			}
		case <-p.exited:
			return fmt.Errorf("civic serve exited while starting: %v\nserver log (end):\n%s", waitErr, tailFile(s.log.Name(), 4096))
		case <-timeout.C:
			_ = cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("civic serve did not report its addresses within a minute\nserver log (end):\n%s", tailFile(s.log.Name(), 4096))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-p.exited
			return context.Cause(ctx)
		}
	}
	s.mu.Lock()
	s.cur, s.httpBase, s.mqttAddr = p, httpBase, mqttAddr
	close(s.up)
	s.mu.Unlock()
	return nil
}

// kill SIGKILLs the running server, if any, and waits until it is gone.
func (s *crashServer) kill() {
	s.mu.Lock()
	p := s.cur
	if p == nil {
		s.mu.Unlock()
		return
	}
	s.cur = nil
	p.killing = true
	s.up = make(chan struct{})
	s.mu.Unlock()
	_ = p.cmd.Process.Kill() // SIGKILL
	<-p.exited
}

// freeze stops the running server in place (see freeze); false when
// there is none or the system cannot.
func (s *crashServer) freeze() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil && freeze(s.cur.cmd.Process)
}

// pid is the process id of the running server, or 0.
func (s *crashServer) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return 0
	}
	return s.cur.cmd.Process.Pid
}

// stop stops the running server: SIGKILL, or with graceful SIGTERM,
// after which it must exit with status 0 within 30 s.
func (s *crashServer) stop(graceful bool) error {
	if !graceful {
		s.kill()
		return nil
	}
	s.mu.Lock()
	p := s.cur
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	s.cur = nil
	p.killing = true
	s.up = make(chan struct{})
	s.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("civic serve (pid %d) did not exit within 30 s of SIGTERM\nserver log (end):\n%s", p.cmd.Process.Pid, tailFile(s.log.Name(), 4096))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("civic serve (pid %d) exited with status %d after SIGTERM\nserver log (end):\n%s", p.cmd.Process.Pid, code, tailFile(s.log.Name(), 4096))
	}
	return nil
}

func (s *crashServer) signalName(graceful bool) string {
	if graceful {
		return "SIGTERM"
	}
	return "SIGKILL"
}

// wait returns the addresses of the running server, waiting for one to be
// up.
func (s *crashServer) wait(ctx context.Context) (httpBase, mqttAddr string, err error) {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpBase, s.mqttAddr, nil
}

// lineWriter calls fn with every complete line written to it.
type lineWriter struct {
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
}

// tailFile returns the last n bytes of a file, for error messages.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// crashRegister registers a bin and a device for every sender's device
// through the API and returns the MQTT devices' secrets.
func crashRegister(ctx context.Context, c *http.Client, base, key string, o CrashOptions) ([]string, error) {
	add := func(id, bin string, i int) error {
		b := map[string]any{"id": bin, "name": "Crash bench " + bin, "lat": 39.9 + float64(i%100)*0.001, "lon": -75.2 + float64(i/100)*0.001,
			"stream": "trash", "capacity_l": 240}
		if err := crashAPI(ctx, c, "POST", base+"/api/v1/bins", key, b, http.StatusCreated, nil); err != nil {
			return err
		}
		d := map[string]any{"id": id, "bin_id": bin, "kind": "ultrasonic", "fill_scale": "fraction"}
		return crashAPI(ctx, c, "POST", base+"/api/v1/devices", key, d, http.StatusCreated, nil)
	}
	for i := range o.Devices {
		if err := add(crashHTTPDevice(i), "CHB-"+strconv.Itoa(i), i); err != nil {
			return nil, err
		}
	}
	secrets := make([]string, o.MQTTDevices)
	for i := range o.MQTTDevices {
		id := crashMQTTDevice(i)
		if err := add(id, "CMB-"+strconv.Itoa(i), o.Devices+i); err != nil {
			return nil, err
		}
		var out struct{ Secret string }
		if err := crashAPI(ctx, c, "POST", base+"/api/v1/devices/"+id+"/secret", key, nil, http.StatusCreated, &out); err != nil {
			return nil, err
		}
		secrets[i] = out.Secret
	}
	return secrets, nil
}

// crashAPI sends one JSON request and wants status want, waiting out rate
// limits.
func crashAPI(ctx context.Context, c *http.Client, method, url, key string, body any, want int, out any) error {
	for {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			if err := sleepCtx(ctx, retryAfter(resp)); err != nil {
				return err
			}
			continue
		case resp.StatusCode != want:
			return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(raw)))
		case out != nil:
			return json.Unmarshal(raw, out)
		}
		return nil
	}
}

func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 100 * time.Millisecond
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// crashSenders are the HTTP senders and MQTT devices of a run. Each
// goroutine owns its slice of httpAcked or mqttAcked until wg is done.
type crashSenders struct {
	o       CrashOptions
	srv     *crashServer
	client  *http.Client
	key     string
	base    time.Time
	maxStep int
	cancel  context.CancelCauseFunc

	stopNew atomic.Bool // no new readings after this; resend until acknowledged
	wg      sync.WaitGroup

	httpDevices [][]string // sender → its devices
	httpAcked   [][]bool   // sender → batch → acknowledged
	mqttAcked   [][]bool   // device → message → acknowledged

	httpInflight, mqttInflight atomic.Int64
	httpRetries, mqttRetries   atomic.Int64
	ackLost, partial           atomic.Int64

	errMu sync.Mutex
	err   error
}

func (r *crashSenders) fail(err error) {
	r.errMu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.errMu.Unlock()
	r.cancel(err)
}

func (r *crashSenders) firstErr() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

func (r *crashSenders) start(ctx context.Context, secrets []string) {
	r.httpDevices = make([][]string, r.o.Senders)
	for i := range r.o.Devices {
		s := i % r.o.Senders
		r.httpDevices[s] = append(r.httpDevices[s], crashHTTPDevice(i))
	}
	r.httpAcked = make([][]bool, r.o.Senders)
	for s := range r.o.Senders {
		r.wg.Go(func() { r.sendHTTP(ctx, s) })
	}
	r.mqttAcked = make([][]bool, len(secrets))
	for d, secret := range secrets {
		r.wg.Go(func() { r.sendMQTT(ctx, d, secret) })
	}
}

// batchBody is batch b of sender s: readings n = b*batch ... of the
// sender's devices in turn, device n % len(devices) at step n / len(devices).
func (r *crashSenders) batchBody(s, b int) ([]byte, bool) {
	devs := r.httpDevices[s]
	first := b * r.o.Batch
	if (first+r.o.Batch)/len(devs) > r.maxStep {
		return nil, false
	}
	buf := make([]byte, 0, 64+r.o.Batch*80)
	buf = append(buf, `{"readings":[`...)
	for i := range r.o.Batch {
		n := first + i
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"device":"`...)
		buf = append(buf, devs[n%len(devs)]...)
		buf = append(buf, `","time":"`...)
		buf = r.base.Add(time.Duration(n/len(devs))*time.Second).AppendFormat(buf, time.RFC3339)
		buf = append(buf, `","fill":`...)
		buf = strconv.AppendFloat(buf, crashHTTPFill(s, n), 'g', -1, 64)
		buf = append(buf, `,"battery":0.9}`...)
	}
	buf = append(buf, "]}"...)
	return buf, true
}

// sendHTTP posts sender s's batches one after the other, each until a 202.
func (r *crashSenders) sendHTTP(ctx context.Context, s int) {
	for b := 0; !r.stopNew.Load(); b++ {
		body, ok := r.batchBody(s, b)
		if !ok {
			return
		}
		r.httpAcked[s] = append(r.httpAcked[s], false)
		for attempt := 0; ; attempt++ {
			base, _, err := r.srv.wait(ctx)
			if err != nil {
				return
			}
			r.httpInflight.Add(1)
			res, status, wait, err := crashPost(ctx, r.client, base+"/api/v1/readings", r.key, body)
			r.httpInflight.Add(-1)
			if ctx.Err() != nil {
				return
			}
			if err == nil && status == http.StatusAccepted {
				switch {
				case res.Accepted+res.Duplicates != r.o.Batch:
					r.fail(fmt.Errorf("sender %d batch %d: accepted %d + duplicates %d, want %d readings", s, b, res.Accepted, res.Duplicates, r.o.Batch))
					return
				case attempt == 0 && res.Duplicates > 0:
					r.fail(fmt.Errorf("sender %d batch %d: %d duplicates on the first send of new readings", s, b, res.Duplicates))
					return
				case res.Duplicates > 0 && res.Accepted > 0:
					r.partial.Add(1)
				}
				r.ackLost.Add(int64(res.Duplicates))
				r.httpAcked[s][b] = true
				if r.o.Pause > 0 && sleepCtx(ctx, r.o.Pause) != nil {
					return
				}
				break
			}
			if err == nil && status != http.StatusTooManyRequests && status < 500 {
				r.fail(fmt.Errorf("sender %d batch %d: status %d", s, b, status))
				return
			}
			r.httpRetries.Add(1)
			if err := sleepCtx(ctx, wait); err != nil {
				return
			}
		}
	}
}

// crashPost posts one batch. A transport error or a status other than 202
// means not acknowledged; wait is how long to pause before resending.
func crashPost(ctx context.Context, c *http.Client, url, key string, body []byte) (res civic.IngestResult, status int, wait time.Duration, err error) {
	wait = 20 * time.Millisecond
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return res, 0, wait, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return res, 0, wait, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return res, 0, wait, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		wait = retryAfter(resp)
	}
	if resp.StatusCode == http.StatusAccepted {
		err = json.Unmarshal(raw, &res)
	}
	return res, resp.StatusCode, wait, err
}

// sendMQTT publishes device d's readings at QoS 1, one message at a time,
// each until a PUBACK, reconnecting whenever the connection is lost.
func (r *crashSenders) sendMQTT(ctx context.Context, d int, secret string) {
	id := crashMQTTDevice(d)
	topic := ingest.Topic(id)
	var conn net.Conn
	var c *paho.Client
	var connCtx context.Context
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for k := 0; !r.stopNew.Load() && k <= r.maxStep; k++ {
		payload := fmt.Appendf(nil, `{"time":%q,"fill":%s,"battery":0.9}`,
			r.base.Add(time.Duration(k)*time.Second).Format(time.RFC3339), strconv.FormatFloat(crashMQTTFill(d, k), 'g', -1, 64))
		r.mqttAcked[d] = append(r.mqttAcked[d], false)
		for {
			if c == nil {
				_, addr, err := r.srv.wait(ctx)
				if err != nil {
					return
				}
				conn, c, connCtx, err = crashConnect(ctx, addr, id, secret)
				if err != nil {
					if sleepCtx(ctx, 20*time.Millisecond) != nil {
						return
					}
					continue
				}
			}
			r.mqttInflight.Add(1)
			resp, err := c.Publish(connCtx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
			r.mqttInflight.Add(-1)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				r.mqttAcked[d][k] = true
				break
			}
			if resp != nil && resp.ReasonCode >= 0x80 {
				r.fail(fmt.Errorf("device %s message %d: refused with reason 0x%02x", id, k, resp.ReasonCode))
				return
			}
			// No PUBACK: the connection went with the server. Publish the
			// same reading again on a new one.
			r.mqttRetries.Add(1)
			conn.Close()
			conn, c = nil, nil
		}
	}
}

// crashConnect connects device id to the broker at addr with MQTT 5. The
// returned context ends when the connection does: paho (v0.23.0) forgets
// the QoS 1 messages in flight when the connection drops without telling
// their Publish calls, which would otherwise wait out the packet timeout.
func crashConnect(ctx context.Context, addr, id, secret string) (net.Conn, *paho.Client, context.Context, error) {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: newBufferedConn(conn), PacketTimeout: 30 * time.Second})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Connect(cctx, &paho.Connect{ClientID: id, KeepAlive: 60, CleanStart: true,
		Username: id, UsernameFlag: true, Password: []byte(secret), PasswordFlag: true}); err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	connCtx, lost := context.WithCancel(ctx)
	go func() {
		select {
		case <-c.Done():
			lost()
		case <-connCtx.Done():
		}
	}()
	return conn, c, connCtx, nil
}

// crashDevice is how the check finds what a stored row should be.
type crashDevice struct {
	http   bool
	owner  int // HTTP sender or MQTT device number
	j, per int // HTTP: index among the sender's devices, and their count
	seen   []bool
}

// check opens the killed server's database and compares every stored row
// with what the senders sent and saw acknowledged.
func (r *crashSenders) check(ctx context.Context, dbPath string, res *CrashResult) error {
	st, err := store.Open(ctx, "sqlite:"+dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("opening the database after the crash: %w", err)
	}
	defer st.Close()
	db := st.DB()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT device_id, time FROM readings)) FROM readings`).
		Scan(&res.Stored, &res.Distinct); err != nil {
		return err
	}

	devs := make(map[string]*crashDevice)
	for s, ids := range r.httpDevices {
		sent := len(r.httpAcked[s]) * r.o.Batch
		for j, id := range ids {
			devs[id] = &crashDevice{http: true, owner: s, j: j, per: len(ids), seen: make([]bool, (sent+len(ids)-1-j)/len(ids))}
		}
	}
	for d, acked := range r.mqttAcked {
		devs[crashMQTTDevice(d)] = &crashDevice{owner: d, seen: make([]bool, len(acked))}
	}
	acked := func(dv *crashDevice, step int) bool {
		if dv.http {
			return r.httpAcked[dv.owner][(step*dv.per+dv.j)/r.o.Batch]
		}
		return r.mqttAcked[dv.owner][step]
	}
	fill := func(dv *crashDevice, step int) float64 {
		if dv.http {
			return crashHTTPFill(dv.owner, step*dv.per+dv.j)
		}
		return crashMQTTFill(dv.owner, step)
	}

	rows, err := db.QueryContext(ctx, `SELECT device_id, time, fill FROM readings ORDER BY device_id, time`)
	if err != nil {
		return err
	}
	defer rows.Close()
	base := r.base.UnixMilli()
	dups := 0
	for rows.Next() {
		var id string
		var ms int64
		var f *float64
		if err := rows.Scan(&id, &ms, &f); err != nil {
			return err
		}
		dv := devs[id]
		off := ms - base
		if dv == nil || off < 0 || off%1000 != 0 || int(off/1000) >= len(dv.seen) {
			res.Unexpected++
			continue
		}
		step := int(off / 1000)
		if dv.seen[step] {
			dups++
			continue
		}
		dv.seen[step] = true
		if f == nil || math.Abs(*f-fill(dv, step)) > 1e-9 {
			res.Unexpected++
		}
		if !acked(dv, step) {
			res.Unacknowledged++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, dv := range devs {
		for step, seen := range dv.seen {
			if !seen && acked(dv, step) {
				res.Missing++
			}
		}
	}
	res.Duplicates = max(res.Stored-res.Distinct, dups)
	// Every bin's live state is its newest reading (SQLite gives the
	// other columns of the row that has the max).
	return db.QueryRowContext(ctx, `SELECT count(*) FROM
		(SELECT bin_id, max(time) AS t, fill FROM readings WHERE bin_id IS NOT NULL GROUP BY bin_id) n
		LEFT JOIN bin_state s ON s.bin_id = n.bin_id
		WHERE s.bin_id IS NULL OR s.time != n.t OR s.fill IS NOT n.fill`).Scan(&res.StaleStates)
}
