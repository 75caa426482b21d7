package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a webhook's signature:
//
//	Civic-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// where t is the Unix time of the delivery attempt and v1 the hex
// HMAC-SHA256, keyed with the subscription's secret, of t, ".", and the
// exact request body. Receivers recompute it, compare in constant time and
// reject stale timestamps to stop replays.
const SignatureHeader = "Civic-Signature"

// Sign returns the Civic-Signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Errors of VerifySignature.
var (
	ErrSignatureFormat = errors.New("alert: malformed signature header")
	ErrSignatureStale  = errors.New("alert: signature timestamp outside the tolerance")
	ErrSignature       = errors.New("alert: signature does not match")
)

// VerifySignature checks a Civic-Signature header against body: the
// timestamp must be within tolerance of now and one of the v1 signatures
// must match (several are allowed, for secret rotation). It returns nil,
// ErrSignatureFormat, ErrSignatureStale or ErrSignature.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureFormat
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrSignatureFormat
			}
			sigs = append(sigs, b)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureFormat
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}
