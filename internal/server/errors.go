package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/httperr"
)

// httpError is an answer that has no civic kind because it is about HTTP
// itself (rate limits, methods, cross-origin requests).
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.code + ": " + e.msg }

var (
	errRateLimited      = &httpError{http.StatusTooManyRequests, "rate_limited", "too many requests, slow down"}
	errMethodNotAllowed = &httpError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"}
	errCrossOrigin      = &httpError{http.StatusForbidden, string(civic.Forbidden), "cross-origin request rejected"}
)

// errorBody is the JSON form of every error the API returns.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError answers the request with err. Internal errors are logged here,
// with their cause, and reach the client only as "internal error"; the access
// log records the code of every other error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, d := s.describe(err)
	if r.Context().Err() != nil && status == http.StatusInternalServerError {
		// The client went away or the request timed out, and the work
		// failed with it: not a bug to log.
		status, d = http.StatusServiceUnavailable, errorDetail{Code: string(civic.Unavailable), Message: "the request was canceled or timed out"}
	}
	if info := infoFrom(r.Context()); info != nil {
		info.errCode = d.Code
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "internal error",
			"err", err, "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()))
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="civic"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: d})
}

func (s *Server) describe(err error) (int, errorDetail) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, errorDetail{Code: he.code, Message: he.msg}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, errorDetail{
			Code:    string(civic.TooLarge),
			Message: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes",
		}
	}
	k := civic.KindOf(err)
	return httperr.Status(k), errorDetail{Code: string(k), Message: civic.MessageOf(err), Field: civic.FieldOf(err)}
}

// writeJSON writes v as the JSON response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug in a response type gets here.
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeJSON reads the request body into v, rejecting unknown fields and
// trailing data. Its errors name the offending field.
func decodeJSON(r *http.Request, v any) error {
	if err := decodeRaw(r, v); err != nil {
		return jsonError(err)
	}
	return checkStrings(v)
}

// decodeRaw is decodeJSON with encoding/json's own errors.
func decodeRaw(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Field = jsonFieldPath(reflect.TypeOf(v), te.Field)
		}
		return err
	}
	if dec.More() {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("trailing data")

// jsonFieldPath is the path encoding/json gives a field of a value of
// type t (UnmarshalTypeError.Field) as the client wrote it: without the
// Go names of the embedded structs on the way, which encoding/json puts
// in ("SimulationAssumptions.threshold" for "threshold").
func jsonFieldPath(t reflect.Type, path string) string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous {
				t = f.Type
				continue
			}
		}
		out = append(out, seg)
		t = jsonFieldType(t, seg)
	}
	return strings.Join(out, ".")
}

// jsonFieldType is the type of the field of struct t that JSON names
// name, embedded structs' fields included; nil if none.
func jsonFieldType(t reflect.Type, name string) reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || tag == "" && f.Name == name {
			return f.Type
		}
	}
	return nil
}

// jsonError turns a decoding error into an Invalid error naming the field.
func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		ce  *civic.Error
	)
	switch {
	case err == errTrailingData:
		return civic.FieldError("", "unexpected data after the JSON value")
	case errors.As(err, &mbe):
		return civic.Wrap(civic.TooLarge, err, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
	case errors.As(err, &ce):
		return err
	case errors.As(err, &se):
		return civic.FieldError("", "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return civic.FieldError(te.Field, "must be %s", jsonType(te.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		return civic.FieldError("", "the request body is empty; a JSON object is expected")
	}
	msg := err.Error()
	const unknown = `json: unknown field "`
	if len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		f := msg[len(unknown) : len(msg)-1]
		return civic.FieldError(f, "unknown field")
	}
	return civic.FieldError("", "malformed JSON: %s", trimJSONPrefix(msg))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "float64", "float32", "int", "int64", "int32", "uint", "uint64", "uint32", "uint8":
		return "a number"
	}
	return "of another type"
}

func trimJSONPrefix(s string) string {
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}
