package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// reqInfo is what the outer middleware learns from the inner layers: the
// matched route, the caller and the error code, for the access log and the
// metrics.
type reqInfo struct {
	id        string
	pattern   string
	principal string
	errCode   string
	clientIP  string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

// observe is the outermost layer: it gives the request an id, recovers
// panics, counts the request in the metrics and writes the access log.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{id: r.Header.Get("X-Request-ID"), clientIP: s.clientIP(r)}
		if !validRequestID(info.id) {
			var b [8]byte
			rand.Read(b[:])
			info.id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", info.id)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		rw := &recorder{ResponseWriter: w}
		s.metrics.inflight.Inc()
		defer func() {
			s.metrics.inflight.Dec()
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// Logged once here with the stack; the client learns
				// nothing but "internal error".
				s.log.ErrorContext(r.Context(), "panic serving request",
					"panic", v, "method", r.Method, "path", r.URL.Path, "request_id", info.id,
					"stack", string(debug.Stack()))
				if !rw.wrote {
					info.errCode = string(civic.Internal)
					writeJSON(rw, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error"}})
				}
			}
			d := time.Since(start)
			route := info.pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.observe(r.Method, route, rw.status(), d)
			level := slog.LevelInfo
			if rw.status() >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", info.pattern),
				slog.Int("status", rw.status()),
				slog.Int64("bytes", rw.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("request_id", info.id),
				slog.String("remote", info.clientIP),
			}
			if info.principal != "" {
				attrs = append(attrs, slog.String("principal", info.principal))
			}
			if info.errCode != "" {
				attrs = append(attrs, slog.String("error", info.errCode))
			}
			s.log.LogAttrs(r.Context(), level, "http request", attrs...)
		}()
		next.ServeHTTP(rw, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// recorder remembers the status and size of the response.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the connection (flushing for
// server-sent events, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// clientIP is the caller's address, for rate limits and the audit log.
func (s *Server) clientIP(r *http.Request) string {
	if s.fromTrustedProxy(r) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginPaths are where passwords are posted, by the API and by the
// dashboard's form: attempts there are limited per client address.
var loginPaths = map[string]bool{"/api/v1/session": true, "/login": true}

// authenticate finds the principal (API key in "Authorization: Bearer", or
// the session cookie), rejects cross-origin writes from browsers, and
// applies the rate limit of the caller.
//
// Cross-origin protection applies to every request not authenticated by an
// API key: writes riding on the cookie, and anonymous ones such as a login
// (a forged login would sign the victim into the attacker's account).
// Requests without Sec-Fetch-Site or Origin headers (programs, not
// browsers) pass, as do safe methods.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		p := civic.Anonymous
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			var err error
			if !strings.EqualFold(scheme, "Bearer") {
				err = civic.Errorf(civic.Unauthorized, "the Authorization header must be 'Bearer API_KEY'")
			} else {
				p, err = s.auth.KeyPrincipal(r.Context(), strings.TrimSpace(tok))
			}
			if err != nil {
				// Guessing keys costs the guesser's address its tokens.
				if !s.limits.allow("ip:"+info.clientIP, s.cfg.AnonymousRate, s.cfg.AnonymousBurst) {
					s.writeError(w, r, errRateLimited)
					return
				}
				s.writeError(w, r, err)
				return
			}
		} else if c, err := r.Cookie(s.cfg.CookieName); err == nil && c.Value != "" {
			sp, err := s.auth.SessionPrincipal(r.Context(), c.Value)
			switch {
			case err == nil:
				p = sp
			case civic.IsKind(err, civic.Unauthorized):
				// An expired session is an anonymous caller; the cookie
				// is useless, drop it.
				s.clearCookie(w)
			default:
				s.writeError(w, r, err)
				return
			}
		}
		if p.KeyID == "" {
			if err := s.cop.Check(r); err != nil {
				s.writeError(w, r, errCrossOrigin)
				return
			}
		}
		if r.Method == http.MethodPost && loginPaths[r.URL.Path] &&
			!s.limits.allow("login:"+info.clientIP, s.cfg.LoginRate, s.cfg.LoginBurst) {
			s.writeError(w, r, errRateLimited)
			return
		}
		var ok bool
		switch {
		case p.KeyID != "":
			info.principal = "key:" + p.KeyID
			ok = s.limits.allow("key:"+p.KeyID, s.cfg.KeyRate, s.cfg.KeyBurst)
		case p.UserID != "":
			info.principal = p.Name
			ok = s.limits.allow("user:"+p.UserID, s.cfg.UserRate, s.cfg.UserBurst)
		default:
			ok = s.limits.allow("ip:"+info.clientIP, s.cfg.AnonymousRate, s.cfg.AnonymousBurst)
		}
		if !ok {
			s.writeError(w, r, errRateLimited)
			return
		}
		next.ServeHTTP(w, r.WithContext(civic.WithPrincipal(r.Context(), p)))
	})
}

// track records the matched route pattern for the outer middleware.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		if info != nil {
			info.pattern = r.Pattern
		}
		h.ServeHTTP(w, r)
		// A handler with a mux of its own (the pages, their streams)
		// sets r.Pattern to its own, finer pattern on the same request:
		// label the request with that one, not with the catch-all "/".
		// What that mux does not know is "unmatched", as for the API.
		if info != nil && isCatchAll(info.pattern) {
			info.pattern = r.Pattern
			if isCatchAll(r.Pattern) {
				info.pattern = ""
			}
		}
	})
}

// isCatchAll tells the pattern of the route that serves everything the
// route table does not, or no pattern at all.
func isCatchAll(pattern string) bool { return pattern == "" || pattern == "/" || pattern == "GET /" }

// apiFunc is a JSON API handler: it writes its success response itself and
// returns errors for writeError.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// api adapts f to http.Handler with the default body limit.
func (s *Server) api(f apiFunc) http.Handler { return s.apiLimit(f, s.cfg.MaxBodyBytes) }

// apiLimit adapts f to http.Handler, capping the request body at limit
// bytes.
func (s *Server) apiLimit(f apiFunc, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if err := f(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// principal returns the caller of r.
func principal(r *http.Request) civic.Principal { return civic.PrincipalFrom(r.Context()) }

// require returns the caller of r if it holds perm; Unauthorized or
// Forbidden otherwise.
func require(r *http.Request, perm civic.Permission) (civic.Principal, error) {
	p := principal(r)
	return p, p.Require(perm)
}

// actor names p in the audit log: users by name, keys by id (key names are
// free text and may collide with user names).
func actor(p civic.Principal) string {
	if p.KeyID != "" {
		return "key:" + p.KeyID
	}
	return p.Name
}

// audit appends an audit entry for a change that has succeeded. A failure
// to record it is logged, not returned: the change is done.
func (s *Server) audit(r *http.Request, action, target, detail string) {
	e := civic.AuditEntry{
		Time:   s.now().UTC(),
		Actor:  actor(principal(r)),
		Action: action,
		Target: target,
		Detail: detail,
	}
	if info := infoFrom(r.Context()); info != nil {
		e.Remote = info.clientIP
	}
	// The change is committed: record it even if the client has gone.
	if err := s.store.AppendAudit(context.WithoutCancel(r.Context()), &e); err != nil {
		s.log.ErrorContext(r.Context(), "audit entry lost", "err", err, "action", action, "target", target, "actor", e.Actor)
	}
}
