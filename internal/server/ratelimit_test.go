package server

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimitersForgetIdleCallers(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	l := newLimiters(nil)
	l.now = func() time.Time { return now }
	if !l.allow("ip:a", 1, 1) || l.allow("ip:a", 1, 1) {
		t.Fatal("burst of 1 should allow one request, then refuse")
	}
	if !l.allow("ip:b", rate.Inf, 0) {
		t.Fatal("rate.Inf refused")
	}
	now = now.Add(idleAfter + 2*time.Minute)
	l.allow("ip:c", 1, 1)
	if _, ok := l.buckets["ip:a"]; ok {
		t.Error("idle bucket kept")
	}
	for i := range maxBuckets + 10 {
		l.allow("ip:"+strconv.Itoa(i), 1, 1)
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("%d buckets, want at most %d", n, maxBuckets)
	}
}
