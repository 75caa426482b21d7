package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/store"
)

// runBenchMQTT measures MQTT ingest end to end: N devices connect to the
// embedded broker on loopback with their own credentials, each publishes
// readings at QoS 1 and waits for every PUBACK, which the broker sends only
// after the commit. At the end the store is checked reading by reading.
//
// The devices run in this process, so the CPU time reported covers them
// too. By default they use leanDevice, a minimal MQTT 5 client, so that
// the figure is mostly civic's own cost; --client paho runs them on
// github.com/eclipse/paho.golang instead.
func runBenchMQTT(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench mqtt")
	dbURL := fs.String("db", "", "PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); default: SQLite in a temporary folder")
	devices := fs.Int("devices", 1000, "connected devices")
	messages := fs.Int("messages", 50, "messages per device")
	perMessage := fs.Int("per-message", 1, "readings per message (above 1, a JSON array, as a gateway or a sensor with buffered readings sends)")
	inflight := fs.Int("inflight", 1, "messages each device publishes before waiting for a PUBACK")
	client := fs.String("client", "lean", "device MQTT client: lean (minimal MQTT 5 over the TCP connection) or paho (github.com/eclipse/paho.golang)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the publishing phase to this file")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *devices <= 0 || *messages <= 0 || *inflight <= 0 || *perMessage <= 0 {
		return usageErrorf("--devices, --messages, --per-message and --inflight must be positive")
	}
	if *perMessage > civic.MaxBatch {
		return usageErrorf("--per-message must be at most %d", civic.MaxBatch)
	}
	if *inflight > 65535 {
		return usageErrorf("--inflight must be at most 65535 (MQTT packet ids)")
	}
	var dial deviceDialer
	switch *client {
	case "lean":
		dial = dialLean
	case "paho":
		dial = dialPaho
	default:
		return usageErrorf("--client must be lean or paho")
	}
	engine := "sqlite"
	if *dbURL != "" {
		engine = "postgres"
	}
	total := *devices * *messages
	fmt.Fprintf(e.stderr, "bench mqtt: %s, %d devices × %d messages of %d reading(s) at QoS 1, %d in flight per device, %s client\n",
		engine, *devices, *messages, *perMessage, *inflight, *client)

	st, cleanup, err := benchStore(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	secrets, err := benchMQTTRegistry(ctx, st, *devices)
	if err != nil {
		return err
	}

	quiet := slog.New(slog.DiscardHandler)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Logger: quiet})
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Close(context.Background())
	b, err := mqtt.NewBroker(w, mqtt.BrokerOptions{
		Addr:         "127.0.0.1:0",
		Authenticate: storeAuthenticator(st),
		Logger:       slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	defer b.Close(context.Background())

	clients, err := benchMQTTConnect(ctx, e, b.Addr(), secrets, dial)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()

	// Sensor times: one reading per device per second of the last hours;
	// reading i of a device is in message i / perMessage.
	readings := *messages * *perMessage
	base := time.Now().Add(-time.Duration(readings+60) * time.Second).Truncate(time.Second)
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("MQTT publish"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	acked := make([][]bool, *devices) // acked[d][m]: message m of device d got a PUBACK with success
	var ackedN, refused atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup

	stopProfile := func() {}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
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
	cpuBegin := route.ProcessCPUClock()
	begin := time.Now()
	for d, c := range clients {
		acked[d] = make([]bool, *messages)
		topic := ingest.Topic(benchDeviceID(d))
		payload := func(dst []byte, m int) []byte { return benchPayload(dst, base, d, m, *perMessage) }
		wg.Go(func() {
			err := c.publish(ctx, topic, *messages, *inflight, payload, func(m int, ok bool) {
				if !ok {
					refused.Add(1)
					return
				}
				acked[d][m] = true
				ackedN.Add(1)
				_ = bar.Add(1)
			})
			if err != nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("device %s: %w", benchDeviceID(d), err) })
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	cpu := route.ProcessCPUClock().Sub(cpuBegin)
	stopProfile()
	_ = bar.Finish()
	if firstErr != nil {
		return firstErr
	}
	rate := float64(ackedN.Load()) * float64(*perMessage) / elapsed.Seconds()
	ws, bs := w.Stats(), b.Stats()
	fmt.Fprintf(e.stderr, "published %d, acknowledged %d, refused %d in %s (%.0f messages/s); %d commits (%.1f messages each, at most %d), %.1f ms mean commit\n",
		total, ackedN.Load(), refused.Load(), elapsed.Round(time.Millisecond), float64(ackedN.Load())/elapsed.Seconds(), ws.Commits,
		float64(ws.Batches)/float64(max(ws.Commits, 1)), ws.MaxBatchesInCommit, ws.CommitSeconds/float64(max(ws.Commits, 1))*1000)
	perMsg := cpu.Seconds() / float64(max(ackedN.Load(), 1)) * 1e6
	fmt.Fprintf(e.stderr, "CPU while publishing: %s, %.1f µs per message, %.1f µs per reading (the whole process: devices, broker, writer, store)\n",
		cpu.Round(time.Millisecond), perMsg, perMsg/float64(*perMessage))
	if bs.Malformed+bs.Transient > 0 {
		fmt.Fprintf(e.stderr, "broker: %d malformed, %d transient failures\n", bs.Malformed, bs.Transient)
	}

	// Check every acknowledged reading is stored, once.
	var lost, dups int
	for d := range *devices {
		rows, err := st.Readings(ctx, civic.ReadingQuery{Device: benchDeviceID(d)})
		if err != nil {
			return err
		}
		seen := make(map[int64]int, len(rows))
		for _, r := range rows {
			seen[r.Time.UnixMilli()]++
		}
		for m, ok := range acked[d] {
			for k := range *perMessage {
				i := m**perMessage + k
				if ok && seen[base.Add(time.Duration(i)*time.Second).UnixMilli()] == 0 {
					lost++
				}
			}
		}
		for _, n := range seen {
			dups += n - 1
		}
	}
	fmt.Fprintf(e.stdout, "mqtt: %.0f readings/s, lost %d, duplicates stored %d\n", rate, lost, dups)
	if lost > 0 || dups > 0 || refused.Load() > 0 {
		return fmt.Errorf("%d acknowledged readings lost, %d stored twice, %d messages refused", lost, dups, refused.Load())
	}
	return nil
}

// benchPayload appends message m of device d: one reading object, or an
// array of perMessage readings.
func benchPayload(dst []byte, base time.Time, d, m, perMessage int) []byte {
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

// benchMQTTRegistry registers bins and devices with random MQTT secrets,
// stored hashed as civic does for real devices, and returns the secrets.
func benchMQTTRegistry(ctx context.Context, st *store.Store, devices int) ([]string, error) {
	bins := make([]civic.Bin, devices)
	for i := range bins {
		bins[i] = civic.Bin{ID: benchBinID(i), Name: "Bench bin " + benchBinID(i), Lat: 39.9 + float64(i%100)*0.001, Lon: -75.2 + float64(i/100)*0.001, Stream: civic.StreamTrash, CapacityL: 240}
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
		d := civic.Device{ID: benchDeviceID(i), BinID: benchBinID(i), FillScale: civic.ScaleFraction, SecretHash: auth.HashSecret(secrets[i])}
		if err := st.CreateDevice(ctx, &d); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// storeAuthenticator checks a device's MQTT password against the hash in
// the registry; removed and inactive devices may not connect.
func storeAuthenticator(devices ingest.DeviceSource) func(ctx context.Context, id, password string) error {
	return func(ctx context.Context, id, password string) error {
		d, err := devices.Device(ctx, id)
		if err != nil {
			return err
		}
		if d.Status == civic.StatusRemoved || d.Status == civic.StatusInactive || d.SecretHash == "" ||
			!auth.VerifySecret(d.SecretHash, password) {
			return civic.Errorf(civic.Unauthorized, "bad device credentials")
		}
		return nil
	}
}

// benchDevice is one connected device of the benchmark.
type benchDevice interface {
	// publish sends the device's messages 0..n-1 to topic at QoS 1, with
	// at most inflight of them unacknowledged, and calls acked once per
	// PUBACK: ok is false when its reason code refuses the message. payload
	// appends message m to dst.
	publish(ctx context.Context, topic string, n, inflight int, payload func(dst []byte, m int) []byte, acked func(m int, ok bool)) error
	close()
}

type deviceDialer func(ctx context.Context, addr, id, password string) (benchDevice, error)

// benchMQTTConnect connects one device per secret, 64 at a time.
func benchMQTTConnect(ctx context.Context, e *env, addr string, secrets []string, dial deviceDialer) ([]benchDevice, error) {
	clients := make([]benchDevice, len(secrets))
	bar := progressbar.NewOptions(len(secrets), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("MQTT connect"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i, secret := range secrets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := benchDeviceID(i)
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

// leanDevice speaks just enough MQTT 5 to publish at QoS 1: CONNECT,
// PUBLISH, PUBACK and DISCONNECT on a bare TCP connection, one write per
// packet, buffered reads, no goroutine of its own and no allocation per
// message. A general-purpose client costs about as much CPU per message
// as the broker, and the benchmark's devices share the machine with
// civic.
type leanDevice struct {
	conn       net.Conn
	r          *bufio.Reader
	out        []byte // the packet being written
	in         []byte // the body of the packet being read
	receiveMax int    // the broker's receive maximum
}

func dialLean(ctx context.Context, addr, id, password string) (benchDevice, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &leanDevice{conn: conn, r: bufio.NewReaderSize(conn, 512), receiveMax: 65535}
	if err := c.connect(ctx, id, password); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *leanDevice) connect(ctx context.Context, id, password string) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
		defer c.conn.SetDeadline(time.Time{})
	}
	// Protocol "MQTT" level 5; flags: user name, password, clean start;
	// keep alive 60 s; no properties.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0xC2, 0, 60, 0}
	body = appendMQTTString(body, id) // client id
	body = appendMQTTString(body, id) // user name
	body = appendMQTTString(body, password)
	c.out = append(appendMQTTHeader(c.out[:0], 0x10, len(body)), body...)
	if _, err := c.conn.Write(c.out); err != nil {
		return err
	}
	typ, in, err := c.readPacket()
	if err != nil {
		return err
	}
	if typ>>4 != 2 || len(in) < 2 {
		return fmt.Errorf("expected CONNACK, got MQTT packet type %d", typ>>4)
	}
	if in[1] >= 0x80 {
		return fmt.Errorf("connect refused (reason 0x%02x)", in[1])
	}
	rm, err := receiveMaximum(in[2:])
	if err != nil {
		return fmt.Errorf("CONNACK: %w", err)
	}
	c.receiveMax = max(rm, 1)
	return nil
}

func (c *leanDevice) publish(ctx context.Context, topic string, n, inflight int, payload func([]byte, int) []byte, acked func(int, bool)) error {
	// Cancelling ctx unblocks a read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	inflight = min(inflight, c.receiveMax)
	pending := make(map[uint16]int, inflight) // packet id → message
	var body []byte
	for next := 0; next < n || len(pending) > 0; {
		for next < n && len(pending) < inflight {
			id := uint16(next%65535 + 1)
			body = payload(body[:0], next)
			c.out = appendMQTTHeader(c.out[:0], 0x32, 2+len(topic)+2+1+len(body)) // PUBLISH, QoS 1
			c.out = appendMQTTString(c.out, topic)
			c.out = append(c.out, byte(id>>8), byte(id), 0) // packet id; no properties
			c.out = append(c.out, body...)
			if _, err := c.conn.Write(c.out); err != nil {
				return err
			}
			pending[id] = next
			next++
		}
		typ, in, err := c.readPacket()
		if err != nil {
			return err
		}
		switch typ >> 4 {
		case 4: // PUBACK
			if len(in) < 2 {
				return errors.New("malformed PUBACK")
			}
			id := uint16(in[0])<<8 | uint16(in[1])
			m, ok := pending[id]
			if !ok {
				return fmt.Errorf("PUBACK for packet id %d, which is not in flight", id)
			}
			delete(pending, id)
			acked(m, len(in) == 2 || in[2] < 0x80) // no reason code means success
		case 14: // DISCONNECT
			reason := byte(0)
			if len(in) > 0 {
				reason = in[0]
			}
			return fmt.Errorf("the broker disconnected the device (reason 0x%02x)", reason)
		default:
			return fmt.Errorf("unexpected MQTT packet type %d", typ>>4)
		}
	}
	return nil
}

// readPacket reads one packet: its first byte and its body, which is valid
// until the next call.
func (c *leanDevice) readPacket() (byte, []byte, error) {
	typ, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return 0, nil, errors.New("malformed MQTT remaining length")
		}
	}
	if cap(c.in) < n {
		c.in = make([]byte, n)
	}
	c.in = c.in[:n]
	if _, err := io.ReadFull(c.r, c.in); err != nil {
		return 0, nil, err
	}
	return typ, c.in, nil
}

func (c *leanDevice) close() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.conn.Write([]byte{0xE0, 0}) // DISCONNECT, normal
	c.conn.Close()
}

// appendMQTTHeader appends a fixed header: the packet's first byte and
// its remaining length.
func appendMQTTHeader(dst []byte, first byte, n int) []byte {
	dst = append(dst, first)
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
		if n == 0 {
			return dst
		}
	}
}

// appendMQTTString appends s with its two-byte length.
func appendMQTTString(dst []byte, s string) []byte {
	return append(append(dst, byte(len(s)>>8), byte(len(s))), s...)
}

// receiveMaximum returns the Receive Maximum of the properties p of a
// CONNACK, 65535 when absent.
func receiveMaximum(p []byte) (int, error) {
	n, shift, i := 0, 0, 0
	for ; ; i++ {
		if i == len(p) || i == 4 {
			return 0, errors.New("malformed property length")
		}
		n |= int(p[i]&0x7f) << shift
		shift += 7
		if p[i]&0x80 == 0 {
			break
		}
	}
	p = p[i+1:]
	if n > len(p) {
		return 0, errors.New("truncated properties")
	}
	p = p[:n]
	rm := 65535
	for len(p) > 0 {
		id := p[0]
		p = p[1:]
		var size int
		switch id {
		case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A: // byte
			size = 1
		case 0x13, 0x21, 0x22, 0x23: // two-byte integer
			size = 2
		case 0x02, 0x11, 0x18, 0x27: // four-byte integer
			size = 4
		case 0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F: // string or binary
			if len(p) < 2 {
				return 0, errors.New("truncated property")
			}
			size = 2 + (int(p[0])<<8 | int(p[1]))
		case 0x26: // user property: two strings
			if len(p) < 2 {
				return 0, errors.New("truncated property")
			}
			k := 2 + (int(p[0])<<8 | int(p[1]))
			if len(p) < k+2 {
				return 0, errors.New("truncated property")
			}
			size = k + 2 + (int(p[k])<<8 | int(p[k+1]))
		default:
			return 0, fmt.Errorf("unknown property 0x%02x", id)
		}
		if len(p) < size {
			return 0, errors.New("truncated property")
		}
		if id == 0x21 {
			rm = int(p[0])<<8 | int(p[1])
		}
		p = p[size:]
	}
	return rm, nil
}

// pahoDevice is a device on github.com/eclipse/paho.golang, with one
// goroutine per message in flight.
type pahoDevice struct{ c *paho.Client }

func dialPaho(ctx context.Context, addr, id, password string) (benchDevice, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: newBufferedConn(conn)})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 60, CleanStart: true,
		Username: id, UsernameFlag: true, Password: []byte(password), PasswordFlag: true}); err != nil {
		conn.Close()
		return nil, err
	}
	return pahoDevice{c}, nil
}

func (p pahoDevice) publish(ctx context.Context, topic string, n, inflight int, payload func([]byte, int) []byte, acked func(int, bool)) error {
	var wg sync.WaitGroup
	errs := make([]error, inflight)
	for lane := range inflight {
		wg.Go(func() {
			var body []byte
			for m := lane; m < n; m += inflight {
				body = payload(body[:0], m)
				resp, err := p.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: body})
				if err != nil {
					errs[lane] = err
					return
				}
				acked(m, resp.ReasonCode < 0x80)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p pahoDevice) close() { _ = p.c.Disconnect(&paho.Disconnect{}) }

// bufferedConn gives paho a buffered reader: paho reads each packet in
// several small reads, each a system call on a bare connection, which on
// a benchmark whose clients share the machine with the server costs more
// than the broker's own work. Embedding the *net.TCPConn keeps writev for
// paho's vectored writes.
type bufferedConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func newBufferedConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	return &bufferedConn{TCPConn: tc, r: bufio.NewReaderSize(tc, 512)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
