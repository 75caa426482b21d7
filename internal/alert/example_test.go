package alert_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/alert"
)

// A webhook receiver checks the signature over the raw body before it
// trusts the notification.
func ExampleVerifySignature() {
	const secret = "the subscription's secret"
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if err := alert.VerifySignature(secret, r.Header.Get(alert.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Println("accepted", r.Header.Get("Civic-Event"))
	})

	body := `{"event":"opened","alert":{"id":"al_1","bin_id":"B1","rule":"fire"}}`
	for _, sig := range []string{alert.Sign(secret, time.Now(), []byte(body)), alert.Sign("another secret", time.Now(), []byte(body))} {
		req := httptest.NewRequest("POST", "/civic-hook", strings.NewReader(body))
		req.Header.Set("Civic-Event", "opened")
		req.Header.Set(alert.SignatureHeader, sig)
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// accepted opened
	// 200
	// 401
}
