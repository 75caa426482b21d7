package server

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Every piece of text a request carries passes civic.CheckText before a
// handler or the store sees it: the query parameters and path segments of
// every request (checkInput, API and pages alike) and every string in a
// decoded JSON body (checkStrings, called by decodeJSON and the generic
// resources). The probe that found NULs giving 500s on PostgreSQL on 22
// endpoints found them one by one; this closes the class.

// maxQueryParams bounds the parameters of one request's query string.
const maxQueryParams = 64

// checkInput rejects requests whose path or query holds text civic does not
// accept, with a 400 naming the parameter or path wildcard.
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.inputError(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		// The caller's address, for what throttles per address (logins).
		if info := infoFrom(r.Context()); info != nil {
			r = r.WithContext(civic.WithClientAddr(r.Context(), info.clientIP))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) inputError(r *http.Request) error {
	if err := civic.CheckText("path", r.URL.Path, 0); err != nil {
		return civic.FieldError(s.pathField(r), "%s", civic.MessageOf(err))
	}
	// What url.ParseQuery cannot parse, r.URL.Query drops too: handlers
	// never see it.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	if len(q) > maxQueryParams {
		return civic.FieldError("", "at most %d query parameters", maxQueryParams)
	}
	for k, vs := range q {
		if err := civic.CheckText("query parameter name", k, 200); err != nil {
			return err
		}
		for _, v := range vs {
			if err := civic.CheckText(k, v, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// pathField names the path wildcard of the API route r matches that holds
// bad text (e.g. "id"), or "path".
func (s *Server) pathField(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	pat := strings.Split(patternPath(pattern), "/")
	got := strings.Split(r.URL.Path, "/")
	for i, seg := range got {
		if civic.CheckText("", seg, 0) == nil || i >= len(pat) {
			continue
		}
		if p := pat[i]; strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(p[1:len(p)-1], "..."), "$")
			if name != "" {
				return name
			}
		}
	}
	return "path"
}

// checkStrings applies civic.CheckText to every string in v, a decoded
// request body, naming it by its JSON path (e.g. "routes[2].note"). Map
// keys are checked too. A field may take a limit of its own with the tag
// `maxlen:"N"`.
func checkStrings(v any) error {
	return walkStrings(reflect.ValueOf(v), "", 0)
}

func walkStrings(v reflect.Value, path string, max int) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkStrings(v.Elem(), path, max)
	case reflect.String:
		return civic.CheckText(path, v.String(), max)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // []byte: binary, base64 in JSON
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), path+"["+strconv.Itoa(i)+"]", max); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			name := join(path, "")
			if k.Kind() == reflect.String {
				if err := civic.CheckText(join(path, "(key)"), k.String(), 200); err != nil {
					return err
				}
				name = join(path, k.String())
			}
			if err := walkStrings(it.Value(), name, max); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			sub := join(path, name)
			if f.Anonymous && tag == "" {
				sub = path
			}
			limit := 0
			if n, err := strconv.Atoi(f.Tag.Get("maxlen")); err == nil {
				limit = n
			}
			if err := walkStrings(v.Field(i), sub, limit); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	if name == "" {
		return path
	}
	return path + "." + name
}
