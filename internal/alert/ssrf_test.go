package alert

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

func TestWebhookTransportRefusesInternal(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	// A name that resolves to loopback is refused like the address.
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{srv.URL, byName} {
		_, err := (&http.Client{Transport: webhookTransport(false)}).Post(u, "application/json", nil)
		if err == nil || !strings.Contains(err.Error(), "internal address") {
			t.Errorf("POST %s with the default transport: %v, want refused", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the internal receiver got %d requests", hits)
	}
	res, err := (&http.Client{Transport: webhookTransport(true)}).Post(srv.URL, "application/json", nil)
	if err != nil || res.StatusCode != 200 || hits != 1 {
		t.Fatalf("allowed internal delivery: %v, hits %d", err, hits)
	}
	res.Body.Close()

	for addr, internal := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"100.64.0.1": true, "0.0.0.0": true, "::1": true, "fd00::1": true, "fe80::1": true, "::ffff:127.0.0.1": true,
		"8.8.8.8": false, "93.184.216.34": false, "2606:4700::1111": false,
	} {
		if got := civic.InternalAddr(netip.MustParseAddr(addr)); got != internal {
			t.Errorf("InternalAddr(%s) = %v, want %v", addr, got, internal)
		}
	}
}
