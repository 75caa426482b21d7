package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/server"
)

// TestHTTPS serves the real handler over TLS as civic serve --tls-cert
// does: answers come with HSTS, and the session cookie is Secure.
func TestHTTPS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	f := newFixture(t, server.Config{LoginRate: rate.Inf})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	srv, guarded := server.HTTPServer(f.h, ln, server.ListenOptions{TLS: tlsConf}, nil)
	go srv.Serve(guarded)
	defer srv.Close()

	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Post("https://"+ln.Addr().String()+"/api/v1/session", "application/json",
		strings.NewReader(`{"name":"admin1","password":"password for admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("login over HTTPS: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if cs := res.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("cookies over HTTPS %+v, want one Secure", cs)
	}
	// Plain HTTP to the TLS port gets no answer it could use.
	if res, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS listener")
	}
}
