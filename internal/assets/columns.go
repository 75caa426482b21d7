package assets

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// kind is the type of a column's values.
type kind int

const (
	kindString kind = iota
	kindNumber
	kindBool
	kindTime
)

// column is one attribute of a bin as CSV columns and GeoJSON properties
// carry it. Bin columns are read and written; state columns are written when
// known and, on reading, accepted and ignored, so an export reads back.
type column struct {
	name     string
	kind     kind
	required bool
	state    bool
	// get returns the column's value as text ("" when absent).
	get func(v *civic.BinView) string
	// set stores text s (already trimmed, never empty) into b.
	set func(b *civic.Bin, s string) error
}

// binColumns lists the columns in the order exports write them.
var binColumns = []column{
	{name: "id", required: true,
		get: func(v *civic.BinView) string { return v.ID },
		set: func(b *civic.Bin, s string) error { b.ID = s; return nil }},
	{name: "serial",
		get: func(v *civic.BinView) string { return v.Serial },
		set: func(b *civic.Bin, s string) error { b.Serial = s; return nil }},
	{name: "name", required: true,
		get: func(v *civic.BinView) string { return v.Name },
		set: func(b *civic.Bin, s string) error { b.Name = s; return nil }},
	{name: "lat", kind: kindNumber, required: true,
		get: func(v *civic.BinView) string { return formatFloat(v.Lat) },
		set: func(b *civic.Bin, s string) error { return parseFloat("lat", s, &b.Lat) }},
	{name: "lon", kind: kindNumber, required: true,
		get: func(v *civic.BinView) string { return formatFloat(v.Lon) },
		set: func(b *civic.Bin, s string) error { return parseFloat("lon", s, &b.Lon) }},
	{name: "address",
		get: func(v *civic.BinView) string { return v.Address },
		set: func(b *civic.Bin, s string) error { b.Address = s; return nil }},
	{name: "stream",
		get: func(v *civic.BinView) string { return string(v.Stream) },
		set: func(b *civic.Bin, s string) error { b.Stream = civic.Stream(s); return nil }},
	{name: "capacity_l", kind: kindNumber, required: true,
		get: func(v *civic.BinView) string { return formatFloat(v.CapacityL) },
		set: func(b *civic.Bin, s string) error { return parseFloat("capacity_l", s, &b.CapacityL) }},
	{name: "compacting", kind: kindBool,
		get: func(v *civic.BinView) string { return strconv.FormatBool(v.Compacting) },
		set: func(b *civic.Bin, s string) error { return parseBool("compacting", s, &b.Compacting) }},
	{name: "model",
		get: func(v *civic.BinView) string { return v.Model },
		set: func(b *civic.Bin, s string) error { b.Model = s; return nil }},
	{name: "zone_id",
		get: func(v *civic.BinView) string { return v.ZoneID },
		set: func(b *civic.Bin, s string) error { b.ZoneID = s; return nil }},
	{name: "status",
		get: func(v *civic.BinView) string { return string(v.Status) },
		set: func(b *civic.Bin, s string) error { b.Status = civic.AssetStatus(s); return nil }},
	{name: "installed_on",
		get: func(v *civic.BinView) string { return v.InstalledOn },
		set: func(b *civic.Bin, s string) error { b.InstalledOn = s; return nil }},
	{name: "full_threshold", kind: kindNumber,
		get: func(v *civic.BinView) string {
			if v.FullThreshold == 0 {
				return ""
			}
			return formatFloat(v.FullThreshold)
		},
		set: func(b *civic.Bin, s string) error { return parseFloat("full_threshold", s, &b.FullThreshold) }},
	{name: "access_window",
		get: func(v *civic.BinView) string { return v.AccessWindow },
		set: func(b *civic.Bin, s string) error { b.AccessWindow = s; return nil }},
}

// stateColumns are written after the bin columns when any bin has a state.
var stateColumns = []column{
	{name: "fill", kind: kindNumber, state: true,
		get: func(v *civic.BinView) string {
			return stateFloat(v, func(s *civic.BinState) *float64 { return s.Fill })
		}},
	{name: "temperature_c", kind: kindNumber, state: true,
		get: func(v *civic.BinView) string {
			return stateFloat(v, func(s *civic.BinState) *float64 { return s.TemperatureC })
		}},
	{name: "battery", kind: kindNumber, state: true,
		get: func(v *civic.BinView) string {
			return stateFloat(v, func(s *civic.BinState) *float64 { return s.Battery })
		}},
	{name: "last_reading", kind: kindTime, state: true,
		get: func(v *civic.BinView) string {
			if v.State == nil || v.State.Time.IsZero() {
				return ""
			}
			return v.State.Time.UTC().Format(time.RFC3339Nano)
		}},
}

// columnsByName finds a column, bin or state, by its name.
var columnsByName = func() map[string]*column {
	m := make(map[string]*column)
	for i := range binColumns {
		m[binColumns[i].name] = &binColumns[i]
	}
	for i := range stateColumns {
		m[stateColumns[i].name] = &stateColumns[i]
	}
	return m
}()

func stateFloat(v *civic.BinView, f func(*civic.BinState) *float64) string {
	if v.State == nil {
		return ""
	}
	p := f(v.State)
	if p == nil {
		return ""
	}
	return formatFloat(*p)
}

// formatFloat writes the shortest text that reads back to the same float.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func parseFloat(field, s string, dst *float64) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return civic.FieldError(field, "must be a number")
	}
	*dst = v
	return nil
}

func parseBool(field, s string, dst *bool) error {
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		*dst = true
	case "false", "no", "0":
		*dst = false
	default:
		return civic.FieldError(field, "must be true, false, yes, no, 1 or 0")
	}
	return nil
}

// finish normalizes and validates a bin read from a file.
func finish(b *civic.Bin) error {
	b.Normalize()
	return b.Validate()
}
