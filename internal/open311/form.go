package open311

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// maxAttributeKeys bounds the attribute entries of one submission.
const maxAttributeKeys = 100

// ParseAttributes collects GeoReport's attribute[CODE]=v and
// attribute[CODE][]=v1&attribute[CODE][]=v2 form entries by code. Keys
// that start with "attribute" but are not of these shapes are an Invalid
// error naming the key; other keys are ignored.
func ParseAttributes(form url.Values) (map[string][]string, error) {
	out := map[string][]string{}
	n := 0
	for k, vs := range form {
		if !strings.HasPrefix(k, "attribute") {
			continue
		}
		n++
		if n > maxAttributeKeys {
			return nil, civic.FieldError("attribute", "at most %d attributes", maxAttributeKeys)
		}
		rest, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			return nil, civic.FieldError(safeKey(k), "is not attribute[CODE] or attribute[CODE][]")
		}
		code, tail, ok := strings.Cut(rest, "]")
		if !ok || code == "" || (tail != "" && tail != "[]") || strings.ContainsAny(code, "[]") {
			return nil, civic.FieldError(safeKey(k), "is not attribute[CODE] or attribute[CODE][]")
		}
		if err := civic.ValidateID("attribute["+safeKey(code)+"]", code); err != nil {
			return nil, err
		}
		if tail == "" && len(vs) > 1 {
			return nil, civic.FieldError(k, "is given %d times; send a list as attribute[%s][]", len(vs), code)
		}
		out[code] = append(out[code], vs...)
	}
	return out, nil
}

// safeKey shortens and quotes a form key for an error message.
func safeKey(k string) string {
	if len(k) > 60 {
		k = k[:60] + "…"
	}
	q := strconv.Quote(k)
	return q[1 : len(q)-1]
}
