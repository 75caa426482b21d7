package ingest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/civic-city/civic/internal/civic"
)

// MaxBatchBytes is the largest JSON body DecodeBatch reads: room for
// civic.MaxBatch readings with every field set and generous whitespace.
const MaxBatchBytes = 8 << 20

// DecodeBatch reads a JSON body of readings from r. It accepts the three
// shapes senders use:
//
//	{"readings": [{"device": "...", "time": "RFC 3339", "fill": 0.42, ...}, ...]}
//	[{"device": "...", ...}, ...]
//	{"device": "...", "time": "...", "fill": 0.42}
//
// An object whose first key is "readings" is a batch; any other object is a
// single reading. Reading fields are those of civic.Reading's JSON form except
// "bin", which ingest sets from the registry; null means absent.
//
// Errors: civic.Invalid for malformed JSON, unknown fields (named in the
// message), values of the wrong type (field "readings[i].fill" and so on;
// a single reading is readings[0]) and an empty batch; civic.TooLarge for more
// than civic.MaxBatch readings or more than MaxBatchBytes of body. Values are
// not range-checked here: civic.Reading.Normalize does that at ingest.
func DecodeBatch(r io.Reader) ([]civic.Reading, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBatchBytes+1))
	if err != nil {
		return nil, civic.Wrap(civic.Invalid, err, "could not read the body")
	}
	if len(b) > MaxBatchBytes {
		return nil, civic.Errorf(civic.TooLarge, "body exceeds %d bytes", MaxBatchBytes)
	}
	return DecodeBatchBytes(b)
}

// DecodeBatchBytes is DecodeBatch for a body already in memory, such as an
// MQTT payload. It does not keep b.
func DecodeBatchBytes(b []byte) ([]civic.Reading, error) {
	d := batchDecoder{b: b}
	return d.decode()
}

// batchDecoder is a hand-written decoder for the one JSON shape DecodeBatch
// accepts. It is several times faster than encoding/json with reflection:
// ingest budgets a few hundred nanoseconds per reading end to end. Readings
// hold no nested values, so the decoder needs no recursion.
type batchDecoder struct {
	b []byte
	i int

	// Measurements are pointers in civic.Reading; they point into these
	// slabs instead of being allocated one by one.
	floats []float64
	ints   []int
	bools  []bool

	devices map[string]string // interned device ids
}

// Slabs start small, since an MQTT message often holds one reading, and
// double up to slabSize.
const (
	firstSlab = 8
	slabSize  = 512
)

func nextSlab(prev int) int { return min(max(2*prev, firstSlab), slabSize) }

func (d *batchDecoder) decode() ([]civic.Reading, error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, civic.FieldError("", "the body is empty: expected a JSON object or array of readings")
	}
	var out []civic.Reading
	var err error
	switch d.b[d.i] {
	case '[':
		out, err = d.array()
	case '{':
		if d.firstKeyIs("readings") {
			out, err = d.wrapper()
		} else {
			out = make([]civic.Reading, 1)
			err = d.reading(0, &out[0])
		}
	default:
		return nil, d.syntax(-1, "expected a JSON object or array of readings")
	}
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, d.syntax(-1, "unexpected data after the JSON value")
	}
	if len(out) == 0 {
		return nil, civic.FieldError("readings", "at least one reading is required")
	}
	return out, nil
}

// firstKeyIs reports whether the object at d.i starts with key k, without
// consuming anything.
func (d *batchDecoder) firstKeyIs(k string) bool {
	save := d.i
	defer func() { d.i = save }()
	d.i++ // '{'
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	key, err := d.str(-1)
	return err == nil && string(key) == k
}

// wrapper decodes {"readings": [...]}.
func (d *batchDecoder) wrapper() ([]civic.Reading, error) {
	d.i++ // '{'
	d.ws()
	if _, err := d.str(-1); err != nil { // "readings", checked by firstKeyIs
		return nil, err
	}
	if err := d.colon(-1); err != nil {
		return nil, err
	}
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		if d.isNull() {
			return nil, civic.FieldError("readings", "at least one reading is required")
		}
		return nil, civic.FieldError("readings", "must be an array of readings")
	}
	out, err := d.array()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ',' {
		d.i++
		d.ws()
		key, err := d.str(-1)
		if err != nil {
			return nil, err
		}
		return nil, civic.FieldError("", "unknown field %q", key)
	}
	if d.i >= len(d.b) || d.b[d.i] != '}' {
		return nil, d.syntax(-1, "expected '}'")
	}
	d.i++
	return out, nil
}

// array decodes [reading, ...].
func (d *batchDecoder) array() ([]civic.Reading, error) {
	d.i++ // '['
	// A reading with a few fields takes 80 bytes or more.
	out := make([]civic.Reading, 0, min(len(d.b)/80+1, civic.MaxBatch))
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return out, nil
	}
	for {
		if len(out) == civic.MaxBatch {
			return nil, &civic.Error{Kind: civic.TooLarge, Field: "readings",
				Message: fmt.Sprintf("more than %d readings in one batch", civic.MaxBatch)}
		}
		out = append(out, civic.Reading{})
		idx := len(out) - 1
		d.ws()
		if err := d.reading(idx, &out[idx]); err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.syntax(idx, "unexpected end of input in the readings array")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return out, nil
		default:
			return nil, d.syntax(idx, "expected ',' or ']' after a reading")
		}
	}
}

// reading decodes one reading object into r. idx names it in errors.
func (d *batchDecoder) reading(idx int, r *civic.Reading) error {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		if d.isNull() {
			return civic.FieldError(readingField(idx), "must be a reading object, not null")
		}
		return civic.FieldError(readingField(idx), "must be a reading object")
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.ws()
		key, err := d.str(idx)
		if err != nil {
			return err
		}
		if err := d.colon(idx); err != nil {
			return err
		}
		switch string(key) {
		case "device":
			err = d.device(idx, r)
		case "time":
			err = d.time(idx, r)
		case "fill":
			r.Fill, err = d.float(idx, "fill")
		case "temperature_c":
			r.TemperatureC, err = d.float(idx, "temperature_c")
		case "battery":
			r.Battery, err = d.float(idx, "battery")
		case "tilt_deg":
			r.TiltDeg, err = d.float(idx, "tilt_deg")
		case "compactions":
			r.Compactions, err = d.int(idx, "compactions")
		case "door_open":
			r.DoorOpen, err = d.bool(idx, "door_open")
		case "fire":
			r.Fire, err = d.bool(idx, "fire")
		case "distance_mm":
			r.DistanceMM, err = d.float(idx, "distance_mm")
		case "rssi_dbm":
			r.RSSI, err = d.float(idx, "rssi_dbm")
		case "snr_db":
			r.SNR, err = d.float(idx, "snr_db")
		default:
			return civic.FieldError(readingField(idx), "unknown field %q", key)
		}
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.b) {
			return d.syntax(idx, "unexpected end of input in a reading")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.syntax(idx, "expected ',' or '}' in a reading")
		}
	}
}

func readingField(idx int) string { return "readings[" + strconv.Itoa(idx) + "]" }

func fieldName(idx int, name string) string { return readingField(idx) + "." + name }

func (d *batchDecoder) device(idx int, r *civic.Reading) error {
	if d.isNull() {
		d.i += 4
		r.Device = ""
		return nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return d.typeError(idx, "device", "must be a string")
	}
	s, err := d.str(idx)
	if err != nil {
		return err
	}
	if id, ok := d.devices[string(s)]; ok {
		r.Device = id
		return nil
	}
	if d.devices == nil {
		d.devices = make(map[string]string)
	}
	id := string(s)
	if len(d.devices) < 4096 {
		d.devices[id] = id
	}
	r.Device = id
	return nil
}

func (d *batchDecoder) time(idx int, r *civic.Reading) error {
	if d.isNull() {
		d.i += 4
		r.Time = time.Time{}
		return nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return d.typeError(idx, "time", "must be an RFC 3339 time string")
	}
	s, err := d.str(idx)
	if err != nil {
		return err
	}
	t, ok := parseRFC3339(s)
	if !ok {
		return civic.FieldError(fieldName(idx, "time"), "must be an RFC 3339 time, e.g. 2026-05-01T08:30:00Z")
	}
	r.Time = t
	return nil
}

func (d *batchDecoder) float(idx int, name string) (*float64, error) {
	if d.isNull() {
		d.i += 4
		return nil, nil
	}
	v, ok, err := d.number(idx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, d.typeError(idx, name, "must be a number")
	}
	if len(d.floats) == cap(d.floats) {
		d.floats = make([]float64, 0, nextSlab(cap(d.floats)))
	}
	d.floats = append(d.floats, v)
	return &d.floats[len(d.floats)-1], nil
}

func (d *batchDecoder) int(idx int, name string) (*int, error) {
	if d.isNull() {
		d.i += 4
		return nil, nil
	}
	v, ok, err := d.number(idx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, d.typeError(idx, name, "must be an integer")
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return nil, civic.FieldError(fieldName(idx, name), "must be an integer")
	}
	if len(d.ints) == cap(d.ints) {
		d.ints = make([]int, 0, nextSlab(cap(d.ints)))
	}
	d.ints = append(d.ints, int(v))
	return &d.ints[len(d.ints)-1], nil
}

func (d *batchDecoder) bool(idx int, name string) (*bool, error) {
	var v bool
	switch {
	case d.isNull():
		d.i += 4
		return nil, nil
	case d.lit("true"):
		v = true
	case d.lit("false"):
		v = false
	default:
		return nil, d.typeError(idx, name, "must be true or false")
	}
	if len(d.bools) == cap(d.bools) {
		d.bools = make([]bool, 0, nextSlab(cap(d.bools)))
	}
	d.bools = append(d.bools, v)
	return &d.bools[len(d.bools)-1], nil
}

// typeError reports a value of the wrong type, unless the value is not even
// valid JSON, which is a syntax error.
func (d *batchDecoder) typeError(idx int, name, msg string) error {
	if err := d.skipScalarOrSyntax(idx); err != nil {
		return err
	}
	return civic.FieldError(fieldName(idx, name), "%s", msg)
}

// skipScalarOrSyntax checks that a well-formed JSON value starts at d.i so
// that type errors are not reported for garbage. Nested values are accepted
// as well-formed without being scanned: the error is the same either way.
func (d *batchDecoder) skipScalarOrSyntax(idx int) error {
	if d.i >= len(d.b) {
		return d.syntax(idx, "unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.str(idx)
		return err
	case c == '{' || c == '[':
		return nil
	case c == 't' || c == 'f' || c == 'n':
		if d.lit("true") || d.lit("false") || d.lit("null") {
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok, err := d.number(idx)
		if err != nil || ok {
			return err
		}
	}
	return d.syntax(idx, "invalid JSON value")
}

func (d *batchDecoder) isNull() bool {
	return len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null"
}

// lit consumes the literal s if it is next.
func (d *batchDecoder) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *batchDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *batchDecoder) colon(idx int) error {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return d.syntax(idx, "expected ':' after an object key")
	}
	d.i++
	d.ws()
	return nil
}

// syntax returns an Invalid error for malformed JSON at the current offset.
// idx >= 0 names the reading it happened in.
func (d *batchDecoder) syntax(idx int, msg string) error {
	field := ""
	if idx >= 0 {
		field = readingField(idx)
	}
	return civic.FieldError(field, "malformed JSON at byte %d: %s", d.i, msg)
}

// str decodes the string at d.i. Without escapes it returns a slice of the
// input; with escapes, a new slice.
func (d *batchDecoder) str(idx int) ([]byte, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, d.syntax(idx, "expected a string")
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], nil
		case c == '\\':
			return d.strEscaped(idx, start, j)
		case c < 0x20:
			d.i = j
			return nil, d.syntax(idx, "control character in a string")
		}
	}
	d.i = len(d.b)
	return nil, d.syntax(idx, "unterminated string")
}

func (d *batchDecoder) strEscaped(idx, start, j int) ([]byte, error) {
	out := make([]byte, 0, j-start+16)
	out = append(out, d.b[start:j]...)
	for j < len(d.b) {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return out, nil
		case c < 0x20:
			d.i = j
			return nil, d.syntax(idx, "control character in a string")
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			break
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
			j += 2
		case 'b':
			out = append(out, '\b')
			j += 2
		case 'f':
			out = append(out, '\f')
			j += 2
		case 'n':
			out = append(out, '\n')
			j += 2
		case 'r':
			out = append(out, '\r')
			j += 2
		case 't':
			out = append(out, '\t')
			j += 2
		case 'u':
			r, ok := hex4(d.b, j+2)
			if !ok {
				d.i = j
				return nil, d.syntax(idx, "invalid \\u escape")
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(d.b, j+2); ok && j+1 < len(d.b) && d.b[j] == '\\' && d.b[j+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						j += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			d.i = j
			return nil, d.syntax(idx, "invalid escape in a string")
		}
	}
	d.i = len(d.b)
	return nil, d.syntax(idx, "unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// number decodes the JSON number at d.i. ok is false, with nothing
// consumed, when no number starts there (a value of another type). A
// number that does not follow JSON's grammar is a syntax error.
func (d *batchDecoder) number(idx int) (v float64, ok bool, err error) {
	b, start := d.b, d.i
	j := start
	neg := false
	if j < len(b) && b[j] == '-' {
		neg = true
		j++
	}
	if j >= len(b) || b[j] < '0' || b[j] > '9' {
		if neg {
			d.i = j
			return 0, false, d.syntax(idx, "invalid number")
		}
		return 0, false, nil
	}
	var mant uint64
	digits, fracDigits := 0, 0
	if b[j] == '0' {
		j++
	} else {
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			mant = mant*10 + uint64(b[j]-'0')
			digits++
		}
	}
	exact := true
	if j < len(b) && b[j] == '.' {
		j++
		k := j
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			mant = mant*10 + uint64(b[j]-'0')
			digits++
			fracDigits++
		}
		if j == k {
			d.i = j
			return 0, false, d.syntax(idx, "invalid number")
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		exact = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			d.i = j
			return 0, false, d.syntax(idx, "invalid number")
		}
	}
	d.i = j
	// Clinger's fast path: a mantissa and a power of ten that are both exact
	// float64s give a correctly rounded quotient. Otherwise strconv.
	if exact && digits <= 15 && fracDigits < len(pow10) {
		v = float64(mant) / pow10[fracDigits]
		if neg {
			v = -v
		}
		return v, true, nil
	}
	v, perr := strconv.ParseFloat(string(b[start:j]), 64)
	if perr != nil {
		if errors.Is(perr, strconv.ErrRange) {
			return 0, false, civic.FieldError(readingField(idx), "number %s is out of range", b[start:j])
		}
		return 0, false, d.syntax(idx, "invalid number")
	}
	return v, true, nil
}

// parseRFC3339 parses the common form YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
// without time.Parse's generality and falls back to it for anything else.
func parseRFC3339(s []byte) (time.Time, bool) {
	if t, ok := fastRFC3339(s); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	return t, err == nil
}

func fastRFC3339(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if s[i] == '.' {
		i++
		k := i
		scale := 100000000
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if i-k < 9 {
				nsec += int(s[i]-'0') * scale
				scale /= 10
			}
		}
		if i == k {
			return time.Time{}, false
		}
	}
	if i >= len(s) {
		return time.Time{}, false
	}
	offset := 0
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return time.Time{}, false
		}
		oh, ok1 := num(i+1, 2)
		om, ok2 := num(i+4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if s[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, false
	}
	if i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
