package opendata

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Paging limits of the query endpoint (/data/{name}.{format}).
const (
	DefaultLimit = 1000
	MaxLimit     = 50000
	maxOffset    = 1_000_000_000
	maxOrder     = 16
)

// Query is a parsed request for a dataset's rows.
type Query struct {
	Select []string
	Where  civic.DataExpr // $where and the column filters, and-ed; nil for none
	Order  []civic.DataOrder
	Limit  int // 0: every row (bulk download only)
	Offset int
}

// ParseQuery reads SODA-style parameters for dataset d:
//
//	$select=a,b       the columns to return, in order (default: all)
//	$where=...        a filter (see ParseWhere)
//	$order=a desc,b   the order; the dataset's key always follows, so pages are stable
//	$limit=N          rows to return: default 1,000, at most 50,000 (bulk: default and maximum all)
//	$offset=N         rows to skip
//	column=value      equality on a declared column; repeated, any of the values
//
// Any other parameter is an error, so a misspelt filter never silently
// returns everything. Errors are civic.Invalid naming the parameter.
func ParseQuery(d *Dataset, v url.Values, bulk bool) (Query, error) {
	q := Query{Select: d.ColumnNames()}
	if !bulk {
		q.Limit = DefaultLimit
	}
	var where []civic.DataExpr
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error is the same on every request
	var order string
	for _, k := range keys {
		vals := v[k]
		if strings.HasPrefix(k, "$") {
			if len(vals) > 1 {
				return q, civic.FieldError(k, "is given %d times; give it once", len(vals))
			}
			val := vals[0]
			switch k {
			case "$select":
				sel, err := parseSelect(d, val)
				if err != nil {
					return q, err
				}
				q.Select = sel
			case "$where":
				e, err := ParseWhere(d, val)
				if err != nil {
					return q, err
				}
				where = append(where, e)
			case "$order":
				order = val
			case "$limit":
				n, err := strconv.Atoi(strings.TrimSpace(val))
				switch {
				case err != nil || n < 1:
					return q, civic.FieldError(k, "must be a whole number from 1 to %d", MaxLimit)
				case n > MaxLimit && !bulk:
					return q, civic.FieldError(k, "must be at most %d (download the whole dataset from /data/%s/rows.csv)", MaxLimit, d.Name)
				}
				q.Limit = n
			case "$offset":
				n, err := strconv.Atoi(strings.TrimSpace(val))
				if err != nil || n < 0 || n > maxOffset {
					return q, civic.FieldError(k, "must be a whole number from 0 to %d", maxOffset)
				}
				q.Offset = n
			default:
				return q, civic.FieldError(k, "is not a parameter civic knows ($select, $where, $order, $limit, $offset)")
			}
			continue
		}
		if k == "" {
			return q, civic.FieldError("query", "a parameter has no name (%s=...)", clip(vals[0]))
		}
		col, ok := d.Column(k)
		if !ok {
			return q, civic.FieldError(clip(k), "is not a column of dataset %s (columns: %s)", d.Name, strings.Join(d.ColumnNames(), ", "))
		}
		if len(vals) > maxInValues {
			return q, civic.FieldError(k, "is given more than %d times", maxInValues)
		}
		var xs []any
		for _, s := range vals {
			x, err := ColumnValue(col, s)
			if err != nil {
				return q, err
			}
			xs = append(xs, x)
		}
		if len(xs) == 1 {
			where = append(where, civic.DataCompare{Column: col.Name, Op: "=", Value: xs[0]})
		} else {
			where = append(where, civic.DataIn{Column: col.Name, Values: xs})
		}
	}
	switch len(where) {
	case 0:
	case 1:
		q.Where = where[0]
	default:
		q.Where = civic.DataAnd{Terms: where}
	}
	o, err := parseOrder(d, order)
	if err != nil {
		return q, err
	}
	q.Order = o
	return q, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

func parseSelect(d *Dataset, s string) ([]string, error) {
	if strings.TrimSpace(s) == "*" {
		return d.ColumnNames(), nil
	}
	var sel []string
	for _, name := range splitList(s) {
		name = strings.ToLower(name)
		if name == "" {
			return nil, civic.FieldError("$select", "has an empty column name")
		}
		if _, ok := d.Column(name); !ok {
			return nil, civic.FieldError("$select", "no column %q in dataset %s (columns: %s)", clip(name), d.Name, strings.Join(d.ColumnNames(), ", "))
		}
		if slices.Contains(sel, name) {
			return nil, civic.FieldError("$select", "names %s twice", name)
		}
		sel = append(sel, name)
	}
	return sel, nil
}

// parseOrder reads $order and appends the dataset's key: the default order
// is the key, and rows equal on the terms asked for keep a fixed order.
func parseOrder(d *Dataset, s string) ([]civic.DataOrder, error) {
	var out []civic.DataOrder
	seen := map[string]bool{}
	if strings.TrimSpace(s) != "" {
		terms := splitList(s)
		if len(terms) > maxOrder {
			return nil, civic.FieldError("$order", "has more than %d terms", maxOrder)
		}
		for _, t := range terms {
			f := strings.Fields(strings.ToLower(t))
			if len(f) == 0 || len(f) > 2 {
				return nil, civic.FieldError("$order", "%q is not 'column', 'column asc' or 'column desc'", clip(t))
			}
			if _, ok := d.Column(f[0]); !ok {
				return nil, civic.FieldError("$order", "no column %q in dataset %s (columns: %s)", clip(f[0]), d.Name, strings.Join(d.ColumnNames(), ", "))
			}
			desc := false
			if len(f) == 2 {
				switch f[1] {
				case "asc":
				case "desc":
					desc = true
				default:
					return nil, civic.FieldError("$order", "%q: the direction is asc or desc", clip(t))
				}
			}
			if seen[f[0]] {
				return nil, civic.FieldError("$order", "names %s twice", f[0])
			}
			seen[f[0]] = true
			out = append(out, civic.DataOrder{Column: f[0], Desc: desc})
		}
	}
	for _, k := range d.Key {
		if !seen[k] {
			out = append(out, civic.DataOrder{Column: k})
		}
	}
	return out, nil
}

// Canonical is a text form of q that two equal queries share: part of the
// ETag.
func (q Query) Canonical() string {
	var b strings.Builder
	b.WriteString(strings.Join(q.Select, ","))
	b.WriteString("|")
	writeExpr(&b, q.Where)
	for _, o := range q.Order {
		b.WriteString("|" + o.Column)
		if o.Desc {
			b.WriteString(" desc")
		}
	}
	b.WriteString("|" + strconv.Itoa(q.Limit) + "|" + strconv.Itoa(q.Offset))
	return b.String()
}

func writeExpr(b *strings.Builder, e civic.DataExpr) {
	switch x := e.(type) {
	case nil:
	case civic.DataCompare:
		b.WriteString(x.Column + x.Op + literal(x.Value))
	case civic.DataBetween:
		b.WriteString(x.Column + " between" + strconv.FormatBool(x.Not) + " " + literal(x.Low) + " " + literal(x.High))
	case civic.DataIn:
		b.WriteString(x.Column + " in" + strconv.FormatBool(x.Not) + "(")
		for _, v := range x.Values {
			b.WriteString(literal(v) + ",")
		}
		b.WriteString(")")
	case civic.DataIsNull:
		b.WriteString(x.Column + " null" + strconv.FormatBool(x.Not))
	case civic.DataAnd:
		b.WriteString("and(")
		for _, t := range x.Terms {
			writeExpr(b, t)
			b.WriteString(";")
		}
		b.WriteString(")")
	case civic.DataOr:
		b.WriteString("or(")
		for _, t := range x.Terms {
			writeExpr(b, t)
			b.WriteString(";")
		}
		b.WriteString(")")
	}
}

func literal(v any) string {
	s, _ := formatValue(v)
	return strconv.Quote(s)
}
