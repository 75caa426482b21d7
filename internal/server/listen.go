package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/connlimit"
)

// ListenOptions bound what one client can hold of the HTTP listener. Zero
// values take the defaults noted.
type ListenOptions struct {
	// MaxConns caps the connections open at once; further ones wait in
	// the kernel's backlog until one closes. 4,096 by default.
	MaxConns int
	// ReadHeaderTimeout is how long a client has to send the request
	// line and headers; 10 s by default.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client has to send the whole request,
	// body included; 60 s by default (an 8 MiB batch at 140 KB/s). A body
	// dripped a byte at a time fails with it. Once the body is read the
	// deadline is lifted, so live streams (SSE) are not cut.
	ReadTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long; 2 min by
	// default.
	IdleTimeout time.Duration
	// TLS, if set, serves HTTPS (see ServeListener).
	TLS *tls.Config
}

func (o *ListenOptions) setDefaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = 4096
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
}

// HTTPServer returns an http.Server for h with o's deadlines, and ln
// wrapped with o's connection cap (and TLS when o.TLS is set): serve it with
// srv.Serve(guarded).
func HTTPServer(h http.Handler, ln net.Listener, o ListenOptions, log *slog.Logger) (srv *http.Server, guarded net.Listener) {
	o.setDefaults()
	srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         o.TLS,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	guarded = connlimit.Wrap(ln, connlimit.Options{Max: o.MaxConns})
	if o.TLS != nil {
		guarded = tls.NewListener(guarded, o.TLS)
	}
	return srv, guarded
}
