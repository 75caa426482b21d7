package civic

import (
	"strings"
	"unicode/utf8"
)

// MaxTextBytes is the longest text any field, query parameter or path
// segment may hold unless its own rule says otherwise: far above any name,
// address or note a person types, far below what would fill a disk.
const MaxTextBytes = 2000

// CheckText is the one rule every piece of text from outside passes before it
// is used or stored: it must be UTF-8, hold no NUL character (PostgreSQL
// refuses NULs in text, SQLite would store them and truncate them in C
// strings) and be at most max bytes long (MaxTextBytes when max <= 0). The
// error is Invalid and names field.
func CheckText(field, s string, max int) error {
	if max <= 0 {
		max = MaxTextBytes
	}
	if len(s) > max {
		return FieldError(field, "must be at most %d bytes (got %d)", max, len(s))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return FieldError(field, "must not contain NUL characters")
	}
	if !utf8.ValidString(s) {
		return FieldError(field, "must be valid UTF-8 text")
	}
	return nil
}

// Plural is unit as it follows the number n in English text: "1 row",
// "0 rows", "3 rows". For units whose plural takes an s.
func Plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// SpreadsheetSafe returns text to be written in a CSV cell so that a
// spreadsheet opening the file shows it instead of evaluating it: text
// starting with =, +, -, @, a tab or a carriage return (how a formula
// starts) gets a leading apostrophe, which spreadsheets hide. Only text
// cells go through it; numbers are written as they are, so a negative
// longitude stays a number.
func SpreadsheetSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
