package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- open data ----
//
// A dataset query is compiled to
//
//	SELECT "a", "b" FROM (SELECT <each declared column, rounded where it
//	says so> FROM (<the dataset's source>) AS src) AS d
//	WHERE <the filter's tree, every value a $N parameter>
//	ORDER BY ... LIMIT $N OFFSET $N
//
// Identifiers come from the dataset's declaration (checked here to be
// plain lower-case names), values only ever travel as parameters.

var _ civic.DataStore = (*Store)(nil)

// StreamData implements civic.DataStore.
func (s *Store) StreamData(ctx context.Context, q civic.DataQuery, each func(row []any) error) error {
	if err := s.readStates(ctx, "data"); err != nil {
		return err
	}
	query, args, types, err := s.compileData(q)
	if err != nil {
		return err
	}
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return s.fail(errCtx{op: "open data query"}, err)
	}
	defer rows.Close()
	raw := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := make([]any, len(types))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return s.fail(errCtx{op: "open data scan"}, err)
		}
		for i, t := range types {
			if row[i], err = dataValue(t, raw[i]); err != nil {
				return s.fail(errCtx{op: "open data scan"}, err)
			}
		}
		if err := each(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(errCtx{op: "open data query"}, err)
	}
	return nil
}

// DataVersion implements civic.DataStore.
func (s *Store) DataVersion(ctx context.Context, src civic.DataSource) (time.Time, string, error) {
	if err := s.readStates(ctx, "data version"); err != nil {
		return time.Time{}, "", err
	}
	var newest time.Time
	var token strings.Builder
	for _, v := range src.Version {
		var t time.Time
		var n int64
		if err := s.rdb.QueryRowContext(ctx, v).Scan(scanTime{&t}, &n); err != nil {
			return time.Time{}, "", s.fail(errCtx{op: "open data version"}, err)
		}
		if t.After(newest) {
			newest = t
		}
		fmt.Fprintf(&token, "%d/%d;", t.UnixMilli(), n)
	}
	return newest, token.String(), nil
}

// dataIdent checks a declared column name is a plain identifier and quotes
// it.
func dataIdent(name string) (string, error) {
	if name == "" || len(name) > 63 {
		return "", civic.Errorf(civic.Internal, "open data: bad column name %q", name)
	}
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return "", civic.Errorf(civic.Internal, "open data: bad column name %q", name)
		}
	}
	return `"` + name + `"`, nil
}

// compileData builds the SQL of q, its arguments and the types of the
// selected columns.
func (s *Store) compileData(q civic.DataQuery) (string, []any, []civic.DataType, error) {
	src := q.Source.SQL
	if s.pg() && q.Source.Postgres != "" {
		src = q.Source.Postgres
	}
	if strings.TrimSpace(src) == "" {
		return "", nil, nil, civic.Errorf(civic.Internal, "open data: a dataset without a source")
	}
	cols := map[string]civic.DataColumn{}
	var inner []string
	for _, c := range q.Columns {
		id, err := dataIdent(c.Name)
		if err != nil {
			return "", nil, nil, err
		}
		cols[c.Name] = c
		expr := "src." + id
		if c.Decimals > 0 && c.Type == civic.DataNumber {
			if s.pg() {
				expr = fmt.Sprintf("ROUND(src.%s::numeric, %d)::double precision", id, c.Decimals)
			} else {
				expr = fmt.Sprintf("ROUND(src.%s, %d)", id, c.Decimals)
			}
		}
		inner = append(inner, expr+" AS "+id)
	}
	if len(q.Select) == 0 {
		return "", nil, nil, civic.FieldError("$select", "selects no column")
	}
	var outer []string
	types := make([]civic.DataType, len(q.Select))
	for i, name := range q.Select {
		c, ok := cols[name]
		if !ok {
			return "", nil, nil, civic.FieldError("$select", "no column %q", name)
		}
		id, _ := dataIdent(name)
		outer = append(outer, "d."+id)
		types[i] = c.Type
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(outer, ", "))
	b.WriteString(" FROM (SELECT ")
	b.WriteString(strings.Join(inner, ", "))
	b.WriteString(" FROM (")
	b.WriteString(src)
	b.WriteString(") AS src) AS d")
	c := &dataCompiler{s: s, cols: cols}
	if q.Where != nil {
		b.WriteString(" WHERE ")
		if err := c.expr(&b, q.Where, 0); err != nil {
			return "", nil, nil, err
		}
	}
	if len(q.Order) > 0 {
		b.WriteString(" ORDER BY ")
		for i, o := range q.Order {
			col, ok := cols[o.Column]
			if !ok {
				return "", nil, nil, civic.FieldError("$order", "no column %q", o.Column)
			}
			id, _ := dataIdent(o.Column)
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("d." + id)
			if col.Type == civic.DataText && s.pg() {
				// Byte order, as SQLite sorts: the same page on both engines.
				b.WriteString(` COLLATE "C"`)
			}
			// Nulls sort first ascending and last descending, SQLite's
			// own order, so its indexes serve the order without a sort;
			// PostgreSQL is told the same.
			switch {
			case o.Desc && s.pg():
				b.WriteString(" DESC NULLS LAST")
			case o.Desc:
				b.WriteString(" DESC")
			case s.pg():
				b.WriteString(" ASC NULLS FIRST")
			default:
				b.WriteString(" ASC")
			}
		}
	}
	switch {
	case q.Limit > 0:
		b.WriteString(" LIMIT " + c.param(int64(q.Limit)))
		if q.Offset > 0 {
			b.WriteString(" OFFSET " + c.param(int64(q.Offset)))
		}
	case q.Offset > 0:
		b.WriteString(" LIMIT " + c.param(int64(1<<62)) + " OFFSET " + c.param(int64(q.Offset)))
	}
	return b.String(), c.args, types, nil
}

type dataCompiler struct {
	s    *Store
	cols map[string]civic.DataColumn
	args []any
}

// maxDataDepth bounds the nesting of a filter; the parser's own bound is
// lower.
const maxDataDepth = 64

func (c *dataCompiler) param(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// value binds v for column col, as the column is stored on this engine.
func (c *dataCompiler) value(col civic.DataColumn, v any) (string, error) {
	field := "$where"
	switch col.Type {
	case civic.DataText, civic.DataDate:
		if s, ok := v.(string); ok {
			return c.param(s), nil
		}
	case civic.DataNumber:
		switch x := v.(type) {
		case float64:
			return c.param(x), nil
		case int64:
			return c.param(float64(x)), nil
		}
	case civic.DataInteger:
		switch x := v.(type) {
		case int64:
			return c.param(x), nil
		case float64:
			return c.param(x), nil
		}
	case civic.DataBoolean:
		if x, ok := v.(bool); ok {
			if c.s.pg() {
				return c.param(x), nil
			}
			if x {
				return c.param(int64(1)), nil
			}
			return c.param(int64(0)), nil
		}
	case civic.DataTime:
		if t, ok := v.(time.Time); ok {
			return c.param(c.s.ts(t.UTC().Truncate(time.Millisecond))), nil
		}
	}
	return "", civic.FieldError(field, "%v is not a %s value for column %s", v, col.Type, col.Name)
}

func (c *dataCompiler) column(name string) (civic.DataColumn, string, error) {
	col, ok := c.cols[name]
	if !ok {
		return col, "", civic.FieldError("$where", "no column %q", name)
	}
	id, err := dataIdent(name)
	return col, "d." + id, err
}

var dataOps = map[string]string{"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (c *dataCompiler) expr(b *strings.Builder, e civic.DataExpr, depth int) error {
	if depth > maxDataDepth {
		return civic.FieldError("$where", "is nested too deeply")
	}
	switch x := e.(type) {
	case civic.DataCompare:
		col, id, err := c.column(x.Column)
		if err != nil {
			return err
		}
		op, ok := dataOps[x.Op]
		if !ok {
			return civic.FieldError("$where", "unknown operator %q", x.Op)
		}
		p, err := c.value(col, x.Value)
		if err != nil {
			return err
		}
		b.WriteString(id + " " + op + " " + p)
	case civic.DataBetween:
		col, id, err := c.column(x.Column)
		if err != nil {
			return err
		}
		lo, err := c.value(col, x.Low)
		if err != nil {
			return err
		}
		hi, err := c.value(col, x.High)
		if err != nil {
			return err
		}
		not := ""
		if x.Not {
			not = "NOT "
		}
		b.WriteString(id + " " + not + "BETWEEN " + lo + " AND " + hi)
	case civic.DataIn:
		col, id, err := c.column(x.Column)
		if err != nil {
			return err
		}
		if len(x.Values) == 0 {
			return civic.FieldError("$where", "in () needs at least one value")
		}
		ps := make([]string, len(x.Values))
		for i, v := range x.Values {
			if ps[i], err = c.value(col, v); err != nil {
				return err
			}
		}
		not := ""
		if x.Not {
			not = "NOT "
		}
		b.WriteString(id + " " + not + "IN (" + strings.Join(ps, ", ") + ")")
	case civic.DataIsNull:
		_, id, err := c.column(x.Column)
		if err != nil {
			return err
		}
		if x.Not {
			b.WriteString(id + " IS NOT NULL")
		} else {
			b.WriteString(id + " IS NULL")
		}
	case civic.DataAnd:
		return c.list(b, x.Terms, " AND ", depth)
	case civic.DataOr:
		return c.list(b, x.Terms, " OR ", depth)
	default:
		return civic.FieldError("$where", "unknown expression %T", e)
	}
	return nil
}

func (c *dataCompiler) list(b *strings.Builder, terms []civic.DataExpr, sep string, depth int) error {
	if len(terms) == 0 {
		return civic.FieldError("$where", "empty condition")
	}
	b.WriteByte('(')
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		if err := c.expr(b, t, depth+1); err != nil {
			return err
		}
	}
	b.WriteByte(')')
	return nil
}

// dataValue converts what the driver scanned into the Go type of t.
func dataValue(t civic.DataType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch t {
	case civic.DataText, civic.DataDate:
		switch x := v.(type) {
		case string:
			return x, nil
		case time.Time:
			return x.UTC().Format(time.DateOnly), nil
		}
		return fmt.Sprint(v), nil
	case civic.DataNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case civic.DataInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case civic.DataBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case civic.DataTime:
		var tm time.Time
		if err := (scanTime{&tm}).Scan(v); err != nil {
			return nil, err
		}
		return tm, nil
	}
	return nil, fmt.Errorf("store: open data: cannot read %T as %s", v, t)
}
