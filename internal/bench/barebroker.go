package bench

import (
	"bytes"
	"log/slog"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// bareBroker is the MQTT benchmark's natural limit: the MQTT server
// library civic's broker is built on, letting every client in and
// acknowledging QoS 1 messages on receipt; nothing is decoded, stored or
// forwarded (no one subscribes).
type bareBroker struct {
	server *mochi.Server
	addr   string
}

func startBareBroker() (*bareBroker, error) {
	caps := mochi.NewDefaultServerCapabilities()
	caps.RetainAvailable = 0
	s := mochi.New(&mochi.Options{Capabilities: caps, Logger: slog.New(slog.DiscardHandler), SysTopicResendInterval: 60})
	if err := s.AddHook(new(allowHook), nil); err != nil {
		return nil, err
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "bare", Address: "127.0.0.1:0"})
	if err := s.AddListener(tcp); err != nil {
		return nil, err
	}
	if err := s.Serve(); err != nil {
		return nil, err
	}
	return &bareBroker{server: s, addr: tcp.Address()}, nil
}

func (b *bareBroker) close() { _ = b.server.Close() }

// allowHook lets every client connect and publish.
type allowHook struct{ mochi.HookBase }

func (h *allowHook) ID() string { return "allow" }

func (h *allowHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

func (h *allowHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (h *allowHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }
