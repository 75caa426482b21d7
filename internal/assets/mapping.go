package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Mapping says how a vendor's file maps onto civic's columns. The zero
// Mapping guesses every column from common names (see Guesses) and reads
// streams and statuses as vendors commonly write them.
//
// A saved mapping is a JSON object (ParseMapping), for example
//
//	{
//	  "columns":  {"id": "SN", "name": "Desc_", "stream": "StreamType"},
//	  "streams":  {"Glass": "bottles_cans"},
//	  "statuses": {"Parked": "inactive"},
//	  "defaults": {"capacity_l": "568"},
//	  "fullness": {"GREEN": 0.3, "YELLOW": 0.7, "RED": 1},
//	  "fill_scale": "percent",
//	  "time_zone": "America/New_York"
//	}
type Mapping struct {
	// Columns maps a civic column (a bin column, or bin, time, fullness
	// of a collection log) to the file's column or property name. Names
	// match exactly first, then ignoring letter case, spaces, '-' and '_'.
	Columns map[string]string `json:"columns,omitempty"`
	// Streams and Statuses map values as the file writes them (compared
	// ignoring case and punctuation) to civic's; they come before the
	// built-in synonyms.
	Streams  map[string]civic.Stream      `json:"streams,omitempty"`
	Statuses map[string]civic.AssetStatus `json:"statuses,omitempty"`
	// Defaults gives a civic column's value where the file has none (no
	// such column, or an empty cell), e.g. capacity_l for inventories that
	// do not state it.
	Defaults map[string]string `json:"defaults,omitempty"`
	// Fullness maps the colour bands of a collection log to fill
	// fractions; it replaces the built-in bands (DefaultFullness).
	Fullness map[string]float64 `json:"fullness,omitempty"`
	// FillScale is the scale of numeric fullness in a collection log; ""
	// guesses: percent when any value is above 1, else a fraction.
	FillScale civic.FillScale `json:"fill_scale,omitempty"`
	// TimeZone is the IANA zone of collection times written without an
	// offset; "" is UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// collectionColumns are the columns of a collection log.
var collectionColumns = []string{"bin", "time", "fullness"}

// Guesses lists, per civic column, the names a vendor's file commonly uses
// for it, tried in order after the civic name itself.
var Guesses = map[string][]string{
	"id":             {"bin_id", "asset_id", "sn", "serial", "serial_number", "serialnumber", "station_id", "station"},
	"serial":         {"sn", "serial_number", "serialnumber", "serial_no", "device_serial"},
	"name":           {"desc_", "description", "desc", "station_name", "location_name", "location", "site", "station", "title"},
	"lat":            {"latitude"},
	"lon":            {"long", "lng", "longitude"},
	"address":        {"street_address", "streetaddress", "street", "location_address", "addr"},
	"stream":         {"streamtype", "stream_type", "waste_type", "wastetype", "waste_stream", "material"},
	"capacity_l":     {"capacity", "capacity_litres", "capacity_liters", "volume", "volume_l"},
	"compacting":     {"compactor", "is_compactor"},
	"model":          {"unit_type", "model_name", "product"},
	"zone_id":        {"zone", "district"},
	"status":         {"service_status", "operational_status"},
	"installed_on":   {"install_date", "installed", "installation_date", "date_installed"},
	"full_threshold": {"fullness_threshold", "threshold"},
	"bin":            {"bin_id", "sn", "serial", "serial_number", "serialnumber", "station", "asset", "asset_id", "id"},
	"time":           {"timestamp", "datetime", "date_time", "collected_at", "collection_time", "collection_date", "emptied_at", "date"},
	"fullness":       {"fill", "fill_level", "fullness_level", "fullness_status", "level", "percent_full", "colour", "color"},
}

// streamWords and statusWords are the built-in value synonyms, keyed by
// valueKey.
var (
	streamWords = wordTable(map[civic.Stream][]string{
		civic.StreamTrash: {"trash", "garbage", "waste", "refuse", "landfill", "general", "general waste", "rubbish",
			"residual", "residual waste", "msw", "mixed waste", "litter", "other"},
		civic.StreamRecycling: {"recycling", "recyclables", "recycle", "single stream", "singlestream", "mixed recycling",
			"commingled", "dry mixed recycling", "inorganic"},
		civic.StreamPaper: {"paper", "cardboard", "paper cardboard", "paper and cardboard", "occ"},
		civic.StreamBottlesCans: {"bottles cans", "bottles and cans", "cans and bottles", "bottles", "cans",
			"containers", "plastic"},
		civic.StreamCompost: {"compost", "organics", "organic", "food", "food waste", "food scraps", "green waste", "biowaste", "bio"},
	})
	statusWords = wordTable(map[civic.AssetStatus][]string{
		civic.StatusActive:      {"active", "in service", "inservice", "operational", "installed", "online", "ok", "working", "enabled"},
		civic.StatusInactive:    {"inactive", "out of service", "not in service", "offline", "disabled", "closed"},
		civic.StatusMaintenance: {"maintenance", "under maintenance", "in maintenance", "repair", "needs repair", "needs service", "broken"},
		civic.StatusRemoved:     {"removed", "decommissioned", "retired", "deleted", "uninstalled"},
	})
)

// wordTable inverts groups of synonyms into a lookup by valueKey.
func wordTable[T comparable](groups map[T][]string) map[string]T {
	out := map[string]T{}
	for v, words := range groups {
		for _, w := range words {
			out[valueKey(w)] = v
		}
	}
	return out
}

// DefaultFullness is the fill fraction of each colour band a collection log
// may use instead of a number: the upper end of the band, as a bin is
// reported RED when it is (nearly) full.
var DefaultFullness = map[string]float64{"GREEN": 0.3, "YELLOW": 0.7, "AMBER": 0.7, "ORANGE": 0.7, "RED": 1}

// valueKey is how values and names are compared: lower case, every run of
// characters other than letters and digits one space, trimmed.
func valueKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

// ParseMapping reads a saved mapping (JSON, see Mapping). Unknown keys,
// unknown civic columns and values civic does not know are Invalid errors
// naming them, e.g. `streams["Glass"]: must be one of trash, ...`.
func ParseMapping(data []byte) (Mapping, error) {
	var m Mapping
	if len(bytes.TrimSpace(data)) == 0 {
		return m, civic.FieldError("", "the mapping file is empty")
	}
	if len(data) > 1<<20 {
		return m, civic.Errorf(civic.TooLarge, "the mapping file is larger than 1 MiB")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, civic.FieldError("", "is not a mapping: %v", jsonMessage(err))
	}
	if dec.More() {
		return Mapping{}, civic.FieldError("", "is not a mapping: more than one JSON value")
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// jsonMessage shortens encoding/json's errors to what a person fixes.
func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Validate checks every part of m and returns an Invalid error naming the
// first bad one.
func (m *Mapping) Validate() error {
	for _, k := range slices.Sorted(maps.Keys(m.Columns)) {
		if !knownTarget(k) {
			return civic.FieldError(fmt.Sprintf("columns[%q]", k), "is not a civic column (%s; for collection logs %s)",
				strings.Join(binColumnNames(), ", "), strings.Join(collectionColumns, ", "))
		}
		if strings.TrimSpace(m.Columns[k]) == "" {
			return civic.FieldError(fmt.Sprintf("columns[%q]", k), "must name a column of the file")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Streams)) {
		if !m.Streams[k].Valid() {
			return civic.FieldError(fmt.Sprintf("streams[%q]", k), "must be one of trash, recycling, paper, bottles_cans, compost")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Statuses)) {
		if !m.Statuses[k].Valid() {
			return civic.FieldError(fmt.Sprintf("statuses[%q]", k), "must be one of active, inactive, maintenance, removed")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Defaults)) {
		c, ok := columnsByName[k]
		if !ok || c.state {
			return civic.FieldError(fmt.Sprintf("defaults[%q]", k), "is not a bin column (%s)", strings.Join(binColumnNames(), ", "))
		}
		if k == "id" || k == "lat" || k == "lon" {
			return civic.FieldError(fmt.Sprintf("defaults[%q]", k), "cannot have a default: every bin has its own")
		}
		// The default goes into an otherwise valid bin, which must stay valid.
		b := civic.Bin{ID: "probe", Name: "probe", Lat: 1, Lon: 1, CapacityL: 1}
		err := m.setValue(c, &b, strings.TrimSpace(m.Defaults[k]))
		if err == nil {
			b.Normalize()
			err = b.Validate()
		}
		if err != nil {
			return civic.PrefixField(fmt.Sprintf("defaults[%q]", k), renameField(err, ""))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Fullness)) {
		if v := m.Fullness[k]; !(v >= 0 && v <= 1) {
			return civic.FieldError(fmt.Sprintf("fullness[%q]", k), "must be a fill fraction between 0 and 1")
		}
	}
	if m.FillScale != "" && !m.FillScale.Valid() {
		return civic.FieldError("fill_scale", "must be fraction, percent or bigbelly10")
	}
	if m.TimeZone != "" {
		if _, err := time.LoadLocation(m.TimeZone); err != nil {
			return civic.FieldError("time_zone", "%q is not a time zone this machine knows (e.g. America/New_York)", m.TimeZone)
		}
	}
	return nil
}

func knownTarget(k string) bool {
	if c, ok := columnsByName[k]; ok && !c.state {
		return true
	}
	return slices.Contains(collectionColumns, k)
}

func binColumnNames() []string {
	names := make([]string, len(binColumns))
	for i, c := range binColumns {
		names[i] = c.name
	}
	return names
}

// ParseColumnMap reads the --map flag's form: "id=SN,name=Desc_,..." (a
// civic column, '=', the file's name; pairs separated by commas). Later
// pairs win; an unknown civic column is an Invalid error naming it.
func ParseColumnMap(s string) (map[string]string, error) {
	return parsePairs(s, "--map", func(k, v string) error {
		if !knownTarget(k) {
			return civic.FieldError("--map", "%q is not a civic column (%s; for collection logs %s)",
				k, strings.Join(binColumnNames(), ", "), strings.Join(collectionColumns, ", "))
		}
		return nil
	})
}

// ParseDefaults reads the --default flag's form: "capacity_l=240,stream=trash".
func ParseDefaults(s string) (map[string]string, error) {
	m, err := parsePairs(s, "--default", nil)
	if err != nil {
		return nil, err
	}
	probe := Mapping{Defaults: m}
	if err := probe.Validate(); err != nil {
		return nil, civic.PrefixField("--default", err)
	}
	return m, nil
}

func parsePairs(s, flag string, check func(k, v string) error) (map[string]string, error) {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, civic.FieldError(flag, "want COLUMN=VALUE pairs separated by commas, got %q", part)
		}
		if check != nil {
			if err := check(k, v); err != nil {
				return nil, err
			}
		}
		out[k] = v
	}
	return out, nil
}

// Merge returns m with the columns and defaults of o added (o wins), as
// flags override a saved mapping.
func (m Mapping) Merge(columns, defaults map[string]string) Mapping {
	out := m
	out.Columns = maps.Clone(m.Columns)
	if out.Columns == nil {
		out.Columns = map[string]string{}
	}
	maps.Copy(out.Columns, columns)
	out.Defaults = maps.Clone(m.Defaults)
	if out.Defaults == nil {
		out.Defaults = map[string]string{}
	}
	maps.Copy(out.Defaults, defaults)
	return out
}

// stream maps a file's stream value to civic's.
func (m *Mapping) stream(s string) (civic.Stream, bool) {
	k := valueKey(s)
	for v, to := range m.Streams {
		if valueKey(v) == k {
			return to, true
		}
	}
	if to, ok := streamWords[k]; ok {
		return to, true
	}
	if k == "bottles cans" || civic.Stream(k).Valid() {
		return civic.Stream(strings.ReplaceAll(k, " ", "_")), true
	}
	return "", false
}

// status maps a file's status value to civic's.
func (m *Mapping) status(s string) (civic.AssetStatus, bool) {
	k := valueKey(s)
	for v, to := range m.Statuses {
		if valueKey(v) == k {
			return to, true
		}
	}
	to, ok := statusWords[k]
	return to, ok
}

// setValue stores text s into b's column c, mapping stream and status
// values first.
func (m *Mapping) setValue(c *column, b *civic.Bin, s string) error {
	switch c.name {
	case "stream":
		st, ok := m.stream(s)
		if !ok {
			return civic.FieldError(c.name, "%q is not a stream civic knows (trash, recycling, paper, bottles_cans, compost): map it in the mapping file's \"streams\"", s)
		}
		s = string(st)
	case "status":
		st, ok := m.status(s)
		if !ok {
			return civic.FieldError(c.name, "%q is not a status civic knows (active, inactive, maintenance, removed): map it in the mapping file's \"statuses\"", s)
		}
		s = string(st)
	}
	return c.set(b, s)
}

// fullness reads a collection log's fullness: a colour band, or a number in
// scale (resolved by the caller).
func (m *Mapping) fullness(s string, scale civic.FillScale) (float64, error) {
	bands := m.Fullness
	if len(bands) == 0 {
		bands = DefaultFullness
	}
	k := valueKey(s)
	for band, v := range bands {
		if valueKey(band) == k {
			return v, nil
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v != v || v < 0 || v > scale.Max() {
		names := slices.Sorted(maps.Keys(bands))
		return 0, civic.FieldError("fullness", "%q must be a number from 0 to %v (%s) or a colour band (%s)",
			s, scale.Max(), scale, strings.Join(names, ", "))
	}
	return scale.ToFraction(v), nil
}

// resolution is where each civic column of a file comes from.
type resolution struct {
	from    map[string]string // civic column -> the file's name
	index   map[string]int    // civic column -> position in names
	ignored []string          // the file's names no column uses, in file order
}

// resolveNames finds, for each civic column in targets, the file's name it
// is read from: the mapping's name, else the civic name, else the first of
// Guesses that the file has. A name matches exactly first, then by
// valueKey; among several matches of the same kind the first in the file
// wins (a file with "Lat" and "LAT" reads lat from "Lat"). skip names the
// file may have that are read elsewhere (the state columns of an export);
// they are neither used nor ignored. A mapped name the file lacks is an
// Invalid error naming it when strict; a name read from that the header
// holds twice always is.
func resolveNames(names []string, targets []string, m *Mapping, skip func(string) bool, strict bool) (resolution, error) {
	res := resolution{from: map[string]string{}, index: map[string]int{}}
	find := func(want string) int {
		for i, n := range names {
			if strings.TrimSpace(n) == want {
				return i
			}
		}
		k := valueKey(want)
		for i, n := range names {
			if valueKey(n) == k {
				return i
			}
		}
		return -1
	}
	used := make([]bool, len(names))
	for _, t := range targets {
		if want, ok := m.Columns[t]; ok {
			i := find(strings.TrimSpace(want))
			if i < 0 {
				if strict {
					return res, civic.FieldError("header", "%s is mapped to %q, which the file does not have", t, want)
				}
				continue
			}
			res.from[t], res.index[t], used[i] = strings.TrimSpace(names[i]), i, true
			continue
		}
		for _, want := range append([]string{t}, Guesses[t]...) {
			if i := find(want); i >= 0 {
				res.from[t], res.index[t], used[i] = strings.TrimSpace(names[i]), i, true
				break
			}
		}
	}
	// A column read under a name the header holds twice is ambiguous:
	// which of the two is it?
	for _, t := range targets {
		i, ok := res.index[t]
		if !ok {
			continue
		}
		for j, n := range names {
			if j != i && strings.TrimSpace(n) == res.from[t] {
				a, b := min(i, j)+1, max(i, j)+1
				return res, civic.FieldError("header", "column %q appears twice (columns %d and %d), and civic reads %s from it: rename or remove one",
					res.from[t], a, b, t)
			}
		}
	}
	for i, n := range names {
		if !used[i] && !(skip != nil && skip(n)) {
			res.ignored = append(res.ignored, strings.TrimSpace(n))
		}
	}
	return res, nil
}

// isStateName reports whether a file's name is one of the state columns an
// export writes (read back and ignored).
func isStateName(n string) bool {
	c, ok := columnsByName[strings.ToLower(strings.TrimSpace(n))]
	return ok && c.state
}

// IgnoredWarning is the one warning about the columns or properties of a
// file that civic did not use, or "" when it used them all.
func IgnoredWarning(file string, ignored []string) string {
	if len(ignored) == 0 {
		return ""
	}
	q := make([]string, len(ignored))
	for i, n := range ignored {
		q[i] = strconv.Quote(n)
	}
	word := "column"
	if len(ignored) > 1 {
		word = "columns"
	}
	return fmt.Sprintf("%s: ignored %d %s civic does not use: %s (map one with --map COLUMN=NAME)",
		displayName(file), len(ignored), word, strings.Join(q, ", "))
}
