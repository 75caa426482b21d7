package civic

import (
	"math"
	"regexp"
	"strings"
	"time"
)

// Stream is the kind of waste a bin takes.
type Stream string

// The waste streams.
const (
	StreamTrash       Stream = "trash"
	StreamRecycling   Stream = "recycling"
	StreamPaper       Stream = "paper"
	StreamBottlesCans Stream = "bottles_cans"
	StreamCompost     Stream = "compost"
)

// Streams lists every stream in display order.
var Streams = []Stream{StreamTrash, StreamRecycling, StreamPaper, StreamBottlesCans, StreamCompost}

// Label is s as people read it: "bottles & cans".
func (s Stream) Label() string { return strings.ReplaceAll(string(s), "_", " & ") }

// Valid reports whether s is one of the known streams.
func (s Stream) Valid() bool {
	for _, v := range Streams {
		if s == v {
			return true
		}
	}
	return false
}

// AssetStatus is the service status of a bin, device, truck or depot.
type AssetStatus string

// The asset statuses.
const (
	StatusActive      AssetStatus = "active"
	StatusInactive    AssetStatus = "inactive"
	StatusMaintenance AssetStatus = "maintenance"
	StatusRemoved     AssetStatus = "removed"
)

// Valid reports whether s is a known status.
func (s AssetStatus) Valid() bool {
	switch s {
	case StatusActive, StatusInactive, StatusMaintenance, StatusRemoved:
		return true
	}
	return false
}

// DefaultFullThreshold is the fill fraction at which a bin counts as full
// when it has no threshold of its own (a common default in deployments).
const DefaultFullThreshold = 0.9

// Bin is a public waste bin or compacting station.
type Bin struct {
	ID            string      `json:"id"`
	Serial        string      `json:"serial,omitempty"`
	Name          string      `json:"name"`
	Lat           float64     `json:"lat"`
	Lon           float64     `json:"lon"`
	Address       string      `json:"address,omitempty"`
	Stream        Stream      `json:"stream"`
	CapacityL     float64     `json:"capacity_l"`
	Compacting    bool        `json:"compacting"`
	Model         string      `json:"model,omitempty"`
	ZoneID        string      `json:"zone_id,omitempty"`
	Status        AssetStatus `json:"status"`
	InstalledOn   string      `json:"installed_on,omitempty"` // YYYY-MM-DD
	FullThreshold float64     `json:"full_threshold"`         // 0..1; 0 means DefaultFullThreshold
	// AccessWindow limits when a truck may empty the bin, "HH:MM-HH:MM"
	// in the city's time zone (a market street only before 07:00); empty
	// means any time.
	AccessWindow string    `json:"access_window,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Normalize fills defaults: status active, stream trash, the default full
// threshold.
func (b *Bin) Normalize() {
	b.ID = strings.TrimSpace(b.ID)
	if b.Status == "" {
		b.Status = StatusActive
	}
	if b.Stream == "" {
		b.Stream = StreamTrash
	}
	if b.FullThreshold == 0 {
		b.FullThreshold = DefaultFullThreshold
	}
}

// Validate checks b and returns an Invalid error naming the first bad field.
func (b *Bin) Validate() error {
	if err := ValidateID("id", b.ID); err != nil {
		return err
	}
	if strings.TrimSpace(b.Name) == "" {
		return FieldError("name", "is required")
	}
	if err := ValidateLatLon(b.Lat, b.Lon); err != nil {
		return err
	}
	if !b.Stream.Valid() {
		return FieldError("stream", "must be one of trash, recycling, paper, bottles_cans, compost")
	}
	if !(b.CapacityL > 0) || b.CapacityL > 100000 || math.IsInf(b.CapacityL, 0) {
		return FieldError("capacity_l", "must be a positive number of litres")
	}
	if !b.Status.Valid() {
		return FieldError("status", "must be one of active, inactive, maintenance, removed")
	}
	if b.InstalledOn != "" {
		if _, err := time.Parse(time.DateOnly, b.InstalledOn); err != nil {
			return FieldError("installed_on", "must be a date YYYY-MM-DD")
		}
	}
	if !(b.FullThreshold > 0 && b.FullThreshold <= 1) {
		return FieldError("full_threshold", "must be a fraction in (0, 1]")
	}
	if b.ZoneID != "" {
		if err := ValidateID("zone_id", b.ZoneID); err != nil {
			return err
		}
	}
	if b.AccessWindow != "" {
		if _, _, err := ParseWindow(b.AccessWindow); err != nil {
			return FieldError("access_window", "must be a time range HH:MM-HH:MM")
		}
	}
	return nil
}

// ParseWindow parses "HH:MM-HH:MM" into minutes after midnight; the end
// must be after the start.
func ParseWindow(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, FieldError("", "want HH:MM-HH:MM")
	}
	if from, err = ParseClock(strings.TrimSpace(a)); err != nil {
		return 0, 0, err
	}
	if to, err = ParseClock(strings.TrimSpace(b)); err != nil {
		return 0, 0, err
	}
	if to <= from {
		return 0, 0, FieldError("", "the end must be after the start")
	}
	return from, to, nil
}

// Threshold returns the bin's full threshold, or the default.
func (b *Bin) Threshold() float64 {
	if b.FullThreshold > 0 {
		return b.FullThreshold
	}
	return DefaultFullThreshold
}

// FillScale is how a device reports fill level. civic stores a 0..1 fraction.
type FillScale string

// The fill scales a device may declare.
const (
	ScaleFraction FillScale = "fraction"   // 0..1
	ScalePercent  FillScale = "percent"    // 0..100
	ScaleBigbelly FillScale = "bigbelly10" // Bigbelly's 0..10 fullness scale
	defaultScale            = ScaleFraction
)

// Valid reports whether s is a known scale.
func (s FillScale) Valid() bool {
	switch s {
	case ScaleFraction, ScalePercent, ScaleBigbelly:
		return true
	}
	return false
}

// ToFraction converts a fill value in scale s to a 0..1 fraction.
func (s FillScale) ToFraction(v float64) float64 {
	switch s {
	case ScalePercent:
		return v / 100
	case ScaleBigbelly:
		return v / 10
	}
	return v
}

// Max returns the largest valid raw value in scale s.
func (s FillScale) Max() float64 {
	switch s {
	case ScalePercent:
		return 100
	case ScaleBigbelly:
		return 10
	}
	return 1
}

// Device is a sensor, usually mounted on a bin.
type Device struct {
	ID               string      `json:"id"`
	Kind             string      `json:"kind"` // ultrasonic, laser, bigbelly, temperature, ...
	BinID            string      `json:"bin_id,omitempty"`
	DevEUI           string      `json:"dev_eui,omitempty"` // LoRaWAN, 16 upper-case hex digits
	FillScale        FillScale   `json:"fill_scale"`
	PayloadFormat    string      `json:"payload_format,omitempty"` // byte decoder for LoRaWAN frames
	ExpectedInterval int         `json:"expected_interval_s"`      // seconds between uplinks
	Firmware         string      `json:"firmware,omitempty"`
	Status           AssetStatus `json:"status"`
	// SecretHash is the hash of the device's MQTT password; never exported.
	SecretHash string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DefaultExpectedInterval is the uplink interval assumed for a device that
// declares none: a few uplinks an hour is typical for fill sensors.
const DefaultExpectedInterval = 900

var devEUIPattern = regexp.MustCompile(`^[0-9A-F]{16}$`)

// Normalize fills defaults and canonical forms.
func (d *Device) Normalize() {
	d.ID = strings.TrimSpace(d.ID)
	d.DevEUI = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(d.DevEUI), ":", ""))
	if d.FillScale == "" {
		d.FillScale = defaultScale
	}
	if d.Kind == "" {
		d.Kind = "ultrasonic"
	}
	if d.ExpectedInterval == 0 {
		d.ExpectedInterval = DefaultExpectedInterval
	}
	if d.Status == "" {
		d.Status = StatusActive
	}
}

// Validate checks d and returns an Invalid error naming the first bad field.
func (d *Device) Validate() error {
	if err := ValidateID("id", d.ID); err != nil {
		return err
	}
	if d.BinID != "" {
		if err := ValidateID("bin_id", d.BinID); err != nil {
			return err
		}
	}
	if d.DevEUI != "" && !devEUIPattern.MatchString(d.DevEUI) {
		return FieldError("dev_eui", "must be 16 hexadecimal digits")
	}
	if !d.FillScale.Valid() {
		return FieldError("fill_scale", "must be one of fraction, percent, bigbelly10")
	}
	if d.ExpectedInterval < 10 || d.ExpectedInterval > 7*24*3600 {
		return FieldError("expected_interval_s", "must be between 10 seconds and 7 days")
	}
	if !d.Status.Valid() {
		return FieldError("status", "must be one of active, inactive, maintenance, removed")
	}
	if len(d.Kind) > 64 {
		return FieldError("kind", "is too long")
	}
	return nil
}

// Zone is an area of the city; bins inside its boundary belong to it.
type Zone struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Boundary  MultiPolygon `json:"boundary"` // GeoJSON Polygon or MultiPolygon geometry
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Validate checks z.
func (z *Zone) Validate() error {
	if err := ValidateID("id", z.ID); err != nil {
		return err
	}
	if strings.TrimSpace(z.Name) == "" {
		return FieldError("name", "is required")
	}
	if err := z.Boundary.Validate(); err != nil {
		return PrefixField("boundary", err)
	}
	return nil
}

// Depot is where trucks start and end their shifts.
type Depot struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Lat       float64   `json:"lat"`
	Lon       float64   `json:"lon"`
	Address   string    `json:"address,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks d.
func (d *Depot) Validate() error {
	if err := ValidateID("id", d.ID); err != nil {
		return err
	}
	if strings.TrimSpace(d.Name) == "" {
		return FieldError("name", "is required")
	}
	return ValidateLatLon(d.Lat, d.Lon)
}

// Truck is a collection vehicle.
type Truck struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	DepotID   string  `json:"depot_id"`
	CapacityL float64 `json:"capacity_l"` // compacted body volume in litres
	// CompactionRatio is how much the truck compresses loose waste (3
	// means 3 litres of bin contents take 1 litre of body); 0 uses the
	// planner's default.
	CompactionRatio float64     `json:"compaction_ratio,omitempty"`
	Stream          Stream      `json:"stream"`
	ShiftStart      string      `json:"shift_start"` // HH:MM in the city's time zone
	ShiftEnd        string      `json:"shift_end"`
	Status          AssetStatus `json:"status"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// Normalize fills defaults.
func (t *Truck) Normalize() {
	if t.Status == "" {
		t.Status = StatusActive
	}
	if t.Stream == "" {
		t.Stream = StreamTrash
	}
	if t.ShiftStart == "" {
		t.ShiftStart = "06:00"
	}
	if t.ShiftEnd == "" {
		t.ShiftEnd = "14:00"
	}
}

// Validate checks t.
func (t *Truck) Validate() error {
	if err := ValidateID("id", t.ID); err != nil {
		return err
	}
	if strings.TrimSpace(t.Name) == "" {
		return FieldError("name", "is required")
	}
	if err := ValidateID("depot_id", t.DepotID); err != nil {
		return err
	}
	if !(t.CapacityL > 0) || math.IsInf(t.CapacityL, 0) {
		return FieldError("capacity_l", "must be a positive number of litres")
	}
	if !t.Stream.Valid() {
		return FieldError("stream", "must be one of trash, recycling, paper, bottles_cans, compost")
	}
	start, err := ParseClock(t.ShiftStart)
	if err != nil {
		return FieldError("shift_start", "must be a time HH:MM")
	}
	end, err := ParseClock(t.ShiftEnd)
	if err != nil {
		return FieldError("shift_end", "must be a time HH:MM")
	}
	if end <= start {
		return FieldError("shift_end", "must be after shift_start")
	}
	if !t.Status.Valid() {
		return FieldError("status", "must be one of active, inactive, maintenance, removed")
	}
	if t.CompactionRatio != 0 && !(t.CompactionRatio >= 1 && t.CompactionRatio <= 10) {
		return FieldError("compaction_ratio", "must be between 1 and 10 (0 for the planner's default)")
	}
	return nil
}

// Crew is a team that works a truck's route.
type Crew struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	DepotID   string    `json:"depot_id,omitempty"`
	TruckID   string    `json:"truck_id,omitempty"`
	Members   []string  `json:"members"` // user names of the crew's members
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks c.
func (c *Crew) Validate() error {
	if err := ValidateID("id", c.ID); err != nil {
		return err
	}
	if strings.TrimSpace(c.Name) == "" {
		return FieldError("name", "is required")
	}
	if c.DepotID != "" {
		if err := ValidateID("depot_id", c.DepotID); err != nil {
			return err
		}
	}
	if c.TruckID != "" {
		if err := ValidateID("truck_id", c.TruckID); err != nil {
			return err
		}
	}
	for i, m := range c.Members {
		if strings.TrimSpace(m) == "" {
			return FieldError("members", "entry %d is empty", i)
		}
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ValidateID checks that id is a stable identifier usable in URLs and file
// names: letters, digits, '.', '_', ':', '-', at most 128 characters.
func ValidateID(field, id string) error {
	if id == "" {
		return FieldError(field, "is required")
	}
	if !idPattern.MatchString(id) {
		return FieldError(field, "must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	return nil
}

// ValidateLatLon checks a WGS 84 position.
func ValidateLatLon(lat, lon float64) error {
	if !(lat >= -90 && lat <= 90) {
		return FieldError("lat", "must be a latitude between -90 and 90")
	}
	if !(lon >= -180 && lon <= 180) {
		return FieldError("lon", "must be a longitude between -180 and 180")
	}
	if lat == 0 && lon == 0 {
		return FieldError("lat", "position 0,0 is not a place in a city")
	}
	return nil
}

// ParseClock parses "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}
