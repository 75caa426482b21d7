package opendata

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Limits of a $where, so that a filter cannot make a query too costly to
// plan or a parser recursion too deep.
const (
	MaxWhereLength = 4000 // characters
	maxWhereDepth  = 16   // nested parentheses
	maxWhereTerms  = 200  // comparisons
	maxInValues    = 500  // values of one in (...)
)

// ParseWhere parses a SODA-style $where over the columns of d:
//
//	expr  := and ("or" and)*
//	and   := term ("and" term)*
//	term  := "(" expr ")"
//	       | column ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
//	       | column ["not"] "between" value "and" value
//	       | column ["not"] "in" "(" value ("," value)* ")"
//	       | column "is" ["not"] "null"
//	value := 'text' ('' for a quote) | number | true | false
//
// Keywords are case-insensitive; columns are the dataset's declared ones.
// A value must suit its column: text and date columns take quoted text
// (dates 'YYYY-MM-DD'), number and integer columns numbers, boolean
// columns true or false, time columns quoted ISO 8601 times
// ('2026-12-01T08:00:00Z'; without a zone UTC; a bare date is midnight
// UTC). Any problem is a civic.Invalid error on field "$where" that says
// what and where.
func ParseWhere(d *Dataset, src string) (civic.DataExpr, error) {
	if len(src) > MaxWhereLength {
		return nil, civic.FieldError("$where", "is longer than %d characters", MaxWhereLength)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &whereParser{d: d, toks: toks}
	if p.peek().kind == tokEOF {
		return nil, civic.FieldError("$where", "is empty")
	}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "expected and, or or the end, found %s", t)
	}
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string // identifiers lower-cased; strings unquoted
	pos  int    // 1-based character position
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "the end"
	case tokString:
		return fmt.Sprintf("'%s'", strings.ReplaceAll(clip(t.text), "'", "''"))
	}
	return fmt.Sprintf("%q", clip(t.text))
}

// clip shortens what an error message repeats of the input.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func lex(src string) ([]token, error) {
	var toks []token
	r := []rune(src)
	for i := 0; i < len(r); {
		c := r[i]
		pos := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", pos})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", pos})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", pos})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(r) {
				if r[i] == '\'' {
					if i+1 < len(r) && r[i+1] == '\'' {
						b.WriteRune('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteRune(r[i])
				i++
			}
			if !closed {
				return nil, civic.FieldError("$where", "at character %d: the text value is not closed with a quote (')", pos)
			}
			toks = append(toks, token{tokString, b.String(), pos})
		case c == '=' || c == '<' || c == '>' || c == '!':
			op := string(c)
			if i+1 < len(r) && (r[i+1] == '=' || c == '<' && r[i+1] == '>') {
				op += string(r[i+1])
			}
			switch op {
			case "!":
				return nil, civic.FieldError("$where", "at character %d: unknown operator '!' (use != or <>)", pos)
			case "==":
				return nil, civic.FieldError("$where", "at character %d: unknown operator '==' (use =)", pos)
			}
			toks = append(toks, token{tokOp, op, pos})
			i += len([]rune(op))
		case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
			j := i + 1
			for j < len(r) && (r[j] >= '0' && r[j] <= '9' || r[j] == '.' || r[j] == 'e' || r[j] == 'E' ||
				(r[j] == '-' || r[j] == '+') && (r[j-1] == 'e' || r[j-1] == 'E')) {
				j++
			}
			toks = append(toks, token{tokNumber, string(r[i:j]), pos})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(r) && (r[j] == '_' || r[j] >= 'a' && r[j] <= 'z' || r[j] >= 'A' && r[j] <= 'Z' || r[j] >= '0' && r[j] <= '9') {
				j++
			}
			toks = append(toks, token{tokIdent, strings.ToLower(string(r[i:j])), pos})
			i = j
		default:
			return nil, civic.FieldError("$where", "at character %d: unexpected %q", pos, string(c))
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(r) + 1}), nil
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "between": true, "in": true, "is": true, "null": true,
	"true": true, "false": true}

type whereParser struct {
	d     *Dataset
	toks  []token
	i     int
	terms int
}

func (p *whereParser) peek() token { return p.toks[p.i] }

func (p *whereParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *whereParser) keyword(k string) bool {
	if t := p.peek(); t.kind == tokIdent && t.text == k {
		p.i++
		return true
	}
	return false
}

func (p *whereParser) errAt(t token, format string, args ...any) error {
	return civic.FieldError("$where", "at character %d: %s", t.pos, fmt.Sprintf(format, args...))
}

func (p *whereParser) or(depth int) (civic.DataExpr, error) {
	var terms []civic.DataExpr
	for {
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.keyword("or") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return civic.DataOr{Terms: terms}, nil
}

func (p *whereParser) and(depth int) (civic.DataExpr, error) {
	var terms []civic.DataExpr
	for {
		e, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.keyword("and") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return civic.DataAnd{Terms: terms}, nil
}

func (p *whereParser) term(depth int) (civic.DataExpr, error) {
	t := p.next()
	if t.kind == tokLParen {
		if depth >= maxWhereDepth {
			return nil, p.errAt(t, "parentheses nest deeper than %d", maxWhereDepth)
		}
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.errAt(c, "expected ), found %s", c)
		}
		return e, nil
	}
	if t.kind != tokIdent || keywords[t.text] {
		return nil, p.errAt(t, "expected a column name, found %s", t)
	}
	col, ok := p.d.Column(t.text)
	if !ok {
		return nil, p.errAt(t, "no column %q in dataset %s (columns: %s)", clip(t.text), p.d.Name, strings.Join(p.d.ColumnNames(), ", "))
	}
	if p.terms++; p.terms > maxWhereTerms {
		return nil, p.errAt(t, "more than %d conditions", maxWhereTerms)
	}
	op := p.next()
	switch {
	case op.kind == tokOp:
		v, err := p.value(col)
		if err != nil {
			return nil, err
		}
		return civic.DataCompare{Column: col.Name, Op: op.text, Value: v}, nil
	case op.kind == tokIdent && op.text == "is":
		not := p.keyword("not")
		if n := p.next(); n.kind != tokIdent || n.text != "null" {
			return nil, p.errAt(n, "expected null after is, found %s", n)
		}
		return civic.DataIsNull{Column: col.Name, Not: not}, nil
	case op.kind == tokIdent && (op.text == "not" || op.text == "between" || op.text == "in"):
		not := op.text == "not"
		if not {
			op = p.next()
		}
		switch {
		case op.kind == tokIdent && op.text == "between":
			lo, err := p.value(col)
			if err != nil {
				return nil, err
			}
			if a := p.next(); a.kind != tokIdent || a.text != "and" {
				return nil, p.errAt(a, "expected and in between ... and ..., found %s", a)
			}
			hi, err := p.value(col)
			if err != nil {
				return nil, err
			}
			return civic.DataBetween{Column: col.Name, Not: not, Low: lo, High: hi}, nil
		case op.kind == tokIdent && op.text == "in":
			if l := p.next(); l.kind != tokLParen {
				return nil, p.errAt(l, "expected ( after in, found %s", l)
			}
			var vs []any
			for {
				v, err := p.value(col)
				if err != nil {
					return nil, err
				}
				if vs = append(vs, v); len(vs) > maxInValues {
					return nil, p.errAt(op, "in (...) holds more than %d values", maxInValues)
				}
				c := p.next()
				if c.kind == tokRParen {
					break
				}
				if c.kind != tokComma {
					return nil, p.errAt(c, "expected , or ) in the in (...) list, found %s", c)
				}
			}
			return civic.DataIn{Column: col.Name, Not: not, Values: vs}, nil
		}
		return nil, p.errAt(op, "expected between or in after not, found %s", op)
	}
	return nil, p.errAt(op, "expected an operator (=, !=, <, <=, >, >=, between, in, is null) after %s, found %s", col.Name, op)
}

// value reads one literal and types it for col.
func (p *whereParser) value(col civic.DataColumn) (any, error) {
	t := p.next()
	var v any
	var err error
	switch t.kind {
	case tokString:
		v, err = ColumnValue(col, t.text)
	case tokNumber:
		if col.Type != number && col.Type != integer {
			return nil, p.errAt(t, "column %s is %s: quote the value ('%s')", col.Name, col.Type, clip(t.text))
		}
		v, err = ColumnValue(col, t.text)
	case tokIdent:
		if t.text == "true" || t.text == "false" {
			if col.Type != boolean {
				return nil, p.errAt(t, "column %s is %s, not boolean", col.Name, col.Type)
			}
			return t.text == "true", nil
		}
		return nil, p.errAt(t, "expected a value for %s, found %s (quote text values: 'like this')", col.Name, t)
	default:
		return nil, p.errAt(t, "expected a value for %s, found %s", col.Name, t)
	}
	if err != nil {
		return nil, p.errAt(t, "%s", civic.MessageOf(err))
	}
	return v, nil
}

// ColumnValue parses s, a value as written in a query (a column filter's
// parameter, a $where literal without its quotes) into the Go type of
// col: see civic.DataType. It fails with civic.Invalid naming the column.
func ColumnValue(col civic.DataColumn, s string) (any, error) {
	switch col.Type {
	case text:
		return s, nil
	case date:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, civic.FieldError(col.Name, "%q is not a date YYYY-MM-DD", clip(s))
		}
		return s, nil
	case number:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, civic.FieldError(col.Name, "%q is not a number", clip(s))
		}
		return f, nil
	case integer:
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, civic.FieldError(col.Name, "%q is not a number", clip(s))
		}
		return f, nil
	case boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, civic.FieldError(col.Name, "%q is not true or false", clip(s))
	case instant:
		if t, ok := parseInstant(strings.TrimSpace(s)); ok {
			return t, nil
		}
		return nil, civic.FieldError(col.Name, "%q is not a time (ISO 8601, e.g. 2026-12-01T08:00:00Z)", clip(s))
	}
	return nil, civic.FieldError(col.Name, "cannot filter a %s column", col.Type)
}

// instantLayouts are the times a query may name; without a zone, UTC.
var instantLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", time.DateOnly}

func parseInstant(s string) (time.Time, bool) {
	for _, l := range instantLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
