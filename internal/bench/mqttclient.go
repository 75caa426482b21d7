package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// mqttDevice is one connected device of the benchmark.
type mqttDevice interface {
	// publish sends the device's messages 0..n-1 to topic at QoS 1, with
	// at most inflight of them unacknowledged, and calls acked once per
	// PUBACK: ok is false when its reason code refuses the message. payload
	// appends message m to dst.
	publish(ctx context.Context, topic string, n, inflight int, payload func(dst []byte, m int) []byte, acked func(m int, ok bool)) error
	close()
}

type deviceDialer func(ctx context.Context, addr, id, password string) (mqttDevice, error)

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

func dialLean(ctx context.Context, addr, id, password string) (mqttDevice, error) {
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

func dialPaho(ctx context.Context, addr, id, password string) (mqttDevice, error) {
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
