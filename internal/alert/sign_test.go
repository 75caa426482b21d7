package alert_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
)

func TestSignAndVerify(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	body := []byte(`{"event":"opened","alert":{"id":"al_1"}}`)
	at := time.Unix(1_773_144_000, 0)
	h := alert.Sign(secret, at, body)
	if !strings.HasPrefix(h, "t=1773144000,v1=") || len(h) != len("t=1773144000,v1=")+64 {
		t.Fatalf("Sign = %q", h)
	}
	other := alert.Sign("another secret of 16+", at, body)
	tests := []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"valid", secret, h, body, at.Add(time.Minute), nil},
		{"valid, clock behind", secret, h, body, at.Add(-time.Minute), nil},
		{"rotated secret: one of two matches", secret, other + ",v1=" + strings.SplitN(h, "v1=", 2)[1], body, at, nil},
		{"body changed", secret, h, append([]byte(nil), strings.Replace(string(body), "al_1", "al_2", 1)...), at, alert.ErrSignature},
		{"wrong secret", "wrong secret 0123456", h, body, at, alert.ErrSignature},
		{"timestamp changed", secret, strings.Replace(h, "t=1773144000", "t=1773144001", 1), body, at, alert.ErrSignature},
		{"stale", secret, h, body, at.Add(6 * time.Minute), alert.ErrSignatureStale},
		{"from the future", secret, h, body, at.Add(-6 * time.Minute), alert.ErrSignatureStale},
		{"no signature", secret, "t=1773144000", body, at, alert.ErrSignatureFormat},
		{"no timestamp", secret, strings.SplitN(h, ",", 2)[1], body, at, alert.ErrSignatureFormat},
		{"not hex", secret, "t=1773144000,v1=zz", body, at, alert.ErrSignatureFormat},
		{"garbage", secret, "hello", body, at, alert.ErrSignatureFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := alert.VerifySignature(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
}
