package mqtt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestBrokerTLS(t *testing.T) {
	st := openStore(t, "D-1")
	w := startWriter(t, st)
	cert, pool := selfSigned(t)
	b, err := mqtt.NewBroker(w, mqtt.BrokerOptions{
		Addr: "127.0.0.1:0",
		TLS:  &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Authenticate: func(ctx context.Context, device, password string) error {
			if password != "pw-"+device {
				return civic.Errorf(civic.Unauthorized, "wrong password")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())

	conn, err := tls.Dial("tcp", b.Addr(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: "tls", Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// KeepAlive 0: paho's pinger sends a PINGREQ as soon as the CONNACK
	// arrives, from its own goroutine, and paho writes a PUBLISH as three
	// writes (header, topic, payload); on a TLS connection, unlike TCP's
	// one writev, the PINGREQ can land between them and the broker reads a
	// garbled PUBLISH (about 1 run in 30 failed so).
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "tls", KeepAlive: 0, CleanStart: true,
		Username: "D-1", UsernameFlag: true, Password: []byte("pw-D-1"), PasswordFlag: true}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	resp, err := c.Publish(ctx, &paho.Publish{Topic: ingest.Topic("D-1"), QoS: 1, Payload: readingJSON(time.Now().Add(-time.Minute), 42)})
	if err != nil || resp.ReasonCode != 0 {
		t.Fatalf("publish over TLS: %+v, %v", resp, err)
	}
	if n := count(t, st, "D-1"); n != 1 {
		t.Errorf("stored %d readings, want 1", n)
	}
	// A plain-text client gets nowhere.
	if _, err := connectV5(t, b.Addr(), "plain", "D-1", "pw-D-1"); err == nil {
		t.Error("plain MQTT connected to the TLS listener")
	}
}
