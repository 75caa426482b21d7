package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The NGSI-LD identifiers civic writes.
const (
	// WasteContainerIDPrefix prefixes a bin id to make its entity id.
	WasteContainerIDPrefix = "urn:ngsi-ld:WasteContainer:"
	// WasteContainerModelIDPrefix prefixes a bin's model to make the
	// refWasteContainerModel relationship's object.
	WasteContainerModelIDPrefix = "urn:ngsi-ld:WasteContainerModel:"
	// DeviceIDPrefix prefixes a device id to make refDevice's object.
	DeviceIDPrefix = "urn:ngsi-ld:Device:"
	// WasteManagementContext is the Smart Data Models JSON-LD context of
	// the WasteManagement subject, the first entry of every @context.
	WasteManagementContext = "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld"
	// NGSILDCoreContext is the NGSI-LD core context, the last entry.
	NGSILDCoreContext = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
)

// DefaultImportCapacityL is the capacity given to an imported
// WasteContainer that has no binCapacity: civic needs one to plan trucks,
// and 240 L is the most common street container (EN 840 wheelie bin).
const DefaultImportCapacityL = 240

// droppedTiltDeg is the tilt from which a bin counts as dropped.
const droppedTiltDeg = 45

var streamToKind = map[civic.Stream]string{
	civic.StreamTrash:       "other",
	civic.StreamRecycling:   "inorganic",
	civic.StreamPaper:       "paper",
	civic.StreamBottlesCans: "plastic",
	civic.StreamCompost:     "organic",
}

var kindToStream = map[string]civic.Stream{
	"other":     civic.StreamTrash,
	"inorganic": civic.StreamRecycling,
	"paper":     civic.StreamPaper,
	"plastic":   civic.StreamBottlesCans,
	"metal":     civic.StreamBottlesCans,
	"glass":     civic.StreamBottlesCans,
	"organic":   civic.StreamCompost,
}

// volumeUnits converts UN/CEFACT volume unit codes to litres.
var volumeUnits = map[string]float64{
	"LTR": 1,           // litre
	"DMQ": 1,           // cubic decimetre
	"MTQ": 1000,        // cubic metre
	"GLL": 3.785411784, // US gallon
}

// object is a JSON object that keeps its members in order, so exports read
// like the Smart Data Models examples (id and type first, @context last).
type object []member

type member struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// attribute is one NGSI-LD attribute before it is written in either form.
type attribute struct {
	name       string
	kind       string // Property, GeoProperty or Relationship
	value      any
	dateTime   bool   // value is a date-time string
	unitCode   string // UN/CEFACT unit, normalized form only
	observedAt time.Time
	list       bool // key-values writes a one-element array (refDevice)
}

func containerAttributes(v *civic.BinView) []attribute {
	a := []attribute{
		{name: "name", kind: "Property", value: v.Name},
		{name: "location", kind: "GeoProperty", value: object{{"type", "Point"}, {"coordinates", []float64{v.Lon, v.Lat}}}},
	}
	if v.Address != "" {
		a = append(a, attribute{name: "address", kind: "Property", value: object{{"streetAddress", v.Address}}})
	}
	if v.Serial != "" {
		a = append(a, attribute{name: "serialNumber", kind: "Property", value: v.Serial})
	}
	if k, ok := streamToKind[v.Stream]; ok {
		a = append(a, attribute{name: "storedWasteKind", kind: "Property", value: k})
	}
	a = append(a, attribute{name: "binCapacity", kind: "Property", value: v.CapacityL, unitCode: "LTR"})
	if v.FullThreshold > 0 {
		pct := round15(v.FullThreshold * 100)
		a = append(a, attribute{name: "binFullnessThreshold", kind: "Property", value: pct, unitCode: "P1"})
	}
	if v.Model != "" {
		a = append(a, attribute{name: "refWasteContainerModel", kind: "Relationship", value: WasteContainerModelIDPrefix + url.PathEscape(v.Model)})
	}
	if v.ZoneID != "" {
		a = append(a, attribute{name: "areaServed", kind: "Property", value: v.ZoneID})
	}
	if v.InstalledOn != "" {
		a = append(a, attribute{name: "dateServiceStarted", kind: "Property", value: v.InstalledOn + "T00:00:00Z", dateTime: true})
	}
	a = append(a, attribute{name: "compacting", kind: "Property", value: v.Compacting})
	if v.AccessWindow != "" {
		a = append(a, attribute{name: "accessWindow", kind: "Property", value: v.AccessWindow})
	}
	if v.Status != "" {
		a = append(a, attribute{name: "serviceStatus", kind: "Property", value: string(v.Status)})
	}
	if s := v.State; s != nil {
		t := s.Time.UTC()
		if s.Fill != nil {
			a = append(a, attribute{name: "fillingLevel", kind: "Property", value: math.Max(0, math.Min(1, *s.Fill)), observedAt: t})
		}
		if s.TemperatureC != nil {
			a = append(a, attribute{name: "temperature", kind: "Property", value: *s.TemperatureC, unitCode: "CEL", observedAt: t})
		}
		a = append(a, attribute{name: "status", kind: "Property", value: safetyStatus(s), observedAt: t})
		if !t.IsZero() {
			a = append(a, attribute{name: "binLoggedTime", kind: "Property", value: formatTime(t), dateTime: true})
		}
		if s.Device != "" {
			a = append(a, attribute{name: "refDevice", kind: "Relationship", value: DeviceIDPrefix + s.Device, list: true})
		}
	}
	if !v.CreatedAt.IsZero() {
		a = append(a, attribute{name: "dateCreated", kind: "Property", value: formatTime(v.CreatedAt), dateTime: true})
	}
	if !v.UpdatedAt.IsZero() {
		a = append(a, attribute{name: "dateModified", kind: "Property", value: formatTime(v.UpdatedAt), dateTime: true})
	}
	return a
}

// round15 rounds v to 15 significant digits, so that a threshold scaled to
// a percentage and back is the same float (0.9*100 is 90.00000000000001).
func round15(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// safetyStatus is the WasteContainer status the latest state implies.
func safetyStatus(s *civic.BinState) string {
	switch {
	case s.Fire != nil && *s.Fire:
		return "burning"
	case s.DoorOpen != nil && *s.DoorOpen:
		return "lidOpen"
	case s.TiltDeg != nil && *s.TiltDeg >= droppedTiltDeg:
		return "dropped"
	}
	return "ok"
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func writeContainers(w io.Writer, bins []civic.BinView, normalized bool) error {
	entities := make([]object, 0, len(bins))
	for i := range bins {
		entities = append(entities, containerEntity(&bins[i], normalized, true))
	}
	return writeJSON(w, entities)
}

func containerEntity(v *civic.BinView, normalized, withContext bool) object {
	e := object{{"id", WasteContainerIDPrefix + v.ID}, {"type", "WasteContainer"}}
	for _, a := range containerAttributes(v) {
		if !normalized {
			val := a.value
			if a.list {
				val = []any{val}
			}
			e = append(e, member{a.name, val})
			continue
		}
		n := object{{"type", a.kind}}
		switch {
		case a.kind == "Relationship":
			n = append(n, member{"object", a.value})
		case a.dateTime:
			n = append(n, member{"value", object{{"@type", "DateTime"}, {"@value", a.value}}})
		default:
			n = append(n, member{"value", a.value})
		}
		if a.unitCode != "" {
			n = append(n, member{"unitCode", a.unitCode})
		}
		if !a.observedAt.IsZero() {
			n = append(n, member{"observedAt", formatTime(a.observedAt)})
		}
		e = append(e, member{a.name, n})
	}
	if withContext {
		e = append(e, member{"@context", []string{WasteManagementContext, NGSILDCoreContext}})
	}
	return e
}

// WriteWasteContainersKeyValues writes bins as a JSON array of FIWARE
// WasteContainer entities in the NGSI-LD key-values form (attribute values
// directly, relationships as URIs), each with its @context, mapped as the
// package documentation shows. The output validates against the Smart Data
// Models WasteContainer schema.
func WriteWasteContainersKeyValues(w io.Writer, bins []civic.BinView) error {
	return writeContainers(w, bins, false)
}

// WriteWasteContainersNormalized writes bins as a JSON array of FIWARE
// WasteContainer entities in the NGSI-LD normalized form: every attribute an
// object with type Property, GeoProperty or Relationship, date-times as
// {"@type": "DateTime", "@value": ...}, units as unitCode and measurements
// with observedAt.
func WriteWasteContainersNormalized(w io.Writer, bins []civic.BinView) error {
	return writeContainers(w, bins, true)
}

// ReadWasteContainers reads FIWARE WasteContainer entities: a JSON array of
// entities or a single entity, in NGSI-LD key-values or normalized form, or
// the NGSI v2 forms of the Smart Data Models examples; forms may be mixed.
// Entity ids lose a leading "urn:ngsi-ld:" and "WasteContainer:" (any
// letter case) to become bin ids. An entity without a name is named by its
// bin id; one without binCapacity gets DefaultImportCapacityL. binCapacity
// is litres unless its unitCode (NGSI-LD) or metadata.unitCode (NGSI v2)
// says LTR, DMQ, MTQ or GLL. binFullnessThreshold is a percentage, but a
// value up to 1 is taken for a fraction. storedWasteKind maps organic to
// compost, inorganic to recycling, paper to paper, plastic, metal and glass
// to bottles_cans, other to trash, a list of dry recyclables to recycling,
// and civic's own stream names to themselves; oil, batteries, electronics
// and hazardous have no civic stream and are an error. Attributes civic
// does not map are ignored. Each bin is normalized and validated.
//
// Any problem, a duplicate id included, fails the whole file with a
// *RowError naming the entity and attribute, e.g.
// "containers.json: [3].binCapacity: must be a positive number of litres",
// and no bins.
func ReadWasteContainers(r io.Reader, filename string) ([]civic.Bin, error) {
	file := displayName(filename)
	data, err := readAll(r, file)
	if err != nil {
		return nil, err
	}
	return readWasteContainers(data, file)
}

func readWasteContainers(data []byte, file string) ([]civic.Bin, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonError(file, data, err)
	}
	var entities []any
	single := false
	switch d := doc.(type) {
	case []any:
		entities = d
	case map[string]any:
		entities, single = []any{d}, true
	default:
		return nil, &RowError{File: file, Err: civic.FieldError("", "must be a JSON array of WasteContainer entities or one entity")}
	}
	bins := make([]civic.Bin, 0, len(entities))
	first := map[string]int{}
	for i, e := range entities {
		path := fmt.Sprintf("[%d]", i)
		if single {
			path = ""
		}
		m, ok := e.(map[string]any)
		if !ok {
			return nil, rowError(file, 0, path, civic.FieldError("", "must be a JSON object"))
		}
		b, err := containerBin(m)
		if err != nil {
			return nil, rowError(file, 0, path, err)
		}
		if j, dup := first[b.ID]; dup {
			return nil, rowError(file, 0, path, civic.FieldError("id", "duplicate bin id %q (first in [%d])", b.ID, j))
		}
		first[b.ID] = i
		bins = append(bins, b)
	}
	return bins, nil
}

// fiwareFields names, for each field civic.Bin.Validate reports, the
// attribute it came from.
var fiwareFields = map[string]string{
	"id": "id", "name": "name", "lat": "location", "lon": "location",
	"stream": "storedWasteKind", "capacity_l": "binCapacity", "status": "serviceStatus",
	"installed_on": "dateServiceStarted", "full_threshold": "binFullnessThreshold", "zone_id": "areaServed",
	"access_window": "accessWindow",
}

func containerBin(e map[string]any) (civic.Bin, error) {
	var b civic.Bin
	if !isWasteContainer(e["type"]) {
		return b, civic.FieldError("type", "must be WasteContainer")
	}
	id, err := attrString(e, "id")
	if err != nil {
		return b, err
	}
	if id == "" {
		return b, civic.FieldError("id", "is required")
	}
	b.ID = containerID(id)
	if err := civic.ValidateID("id", b.ID); err != nil {
		return b, civic.FieldError("id", "%q does not end in a civic id (letters, digits, '.', '_', ':', '-')", id)
	}
	if b.Name, err = attrString(e, "name"); err != nil {
		return b, err
	}
	if strings.TrimSpace(b.Name) == "" {
		b.Name = b.ID
	}
	if err := readLocation(e, &b); err != nil {
		return b, err
	}
	if err := readAddress(e, &b); err != nil {
		return b, err
	}
	if b.Serial, err = attrString(e, "serialNumber"); err != nil {
		return b, err
	}
	if err := readStream(e, &b); err != nil {
		return b, err
	}
	if err := readCapacity(e, &b); err != nil {
		return b, err
	}
	if err := readThreshold(e, &b); err != nil {
		return b, err
	}
	model, err := attrString(e, "refWasteContainerModel")
	if err != nil {
		return b, err
	}
	b.Model = modelName(model)
	if b.ZoneID, err = attrString(e, "areaServed"); err != nil {
		return b, err
	}
	if err := readServiceStarted(e, &b); err != nil {
		return b, err
	}
	if v, ok := attr(e, "compacting"); ok {
		switch x := v.(type) {
		case bool:
			b.Compacting = x
		case string:
			if err := parseBool("compacting", strings.TrimSpace(x), &b.Compacting); err != nil {
				return b, err
			}
		default:
			return b, civic.FieldError("compacting", "must be true or false")
		}
	}
	if b.AccessWindow, err = attrString(e, "accessWindow"); err != nil {
		return b, err
	}
	status, err := attrString(e, "serviceStatus")
	if err != nil {
		return b, err
	}
	b.Status = civic.AssetStatus(status)

	if err := finish(&b); err != nil {
		if f, ok := fiwareFields[civic.FieldOf(err)]; ok {
			return b, renameField(err, f)
		}
		return b, err
	}
	return b, nil
}

// isWasteContainer reports whether an entity type is WasteContainer, as a
// term or the expanded IRI, alone or in an NGSI-LD list of types.
func isWasteContainer(typ any) bool {
	switch t := typ.(type) {
	case string:
		return t == "WasteContainer" || t == "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"
	case []any:
		return slices.ContainsFunc(t, isWasteContainer)
	}
	return false
}

// containerID strips the NGSI-LD and entity type prefixes of an entity id.
func containerID(id string) string {
	s := strings.TrimSpace(id)
	s = trimPrefixFold(s, "urn:ngsi-ld:")
	return trimPrefixFold(s, "WasteContainer:")
}

// modelName turns refWasteContainerModel back into civic's model text.
func modelName(ref string) string {
	s := strings.TrimSpace(ref)
	s = trimPrefixFold(s, "urn:ngsi-ld:")
	s = trimPrefixFold(s, "WasteContainerModel:")
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.TrimSpace(s)
}

func trimPrefixFold(s, prefix string) string {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):]
	}
	return s
}

// attr returns an attribute's value in any form: key-values as is;
// NGSI-LD normalized ({"type": "Property", "value": v} or a Relationship's
// "object") and NGSI v2 normalized ({"type": "Number", "value": v})
// unwrapped; JSON-LD {"@value": v} unwrapped; of several instances
// (datasetId) the default one, else the first.
func attr(e map[string]any, name string) (any, bool) {
	v, ok := e[name]
	if !ok || v == nil {
		return nil, false
	}
	if list, ok := v.([]any); ok && len(list) > 0 {
		if _, norm := normalizedAttr(list[0]); norm {
			v = list[0]
			for _, inst := range list {
				if m, ok := inst.(map[string]any); ok && m["datasetId"] == nil {
					v = inst
					break
				}
			}
		}
	}
	if m, norm := normalizedAttr(v); norm {
		if o, ok := m["object"]; ok {
			v = o
		} else {
			v = m["value"]
		}
	}
	if m, ok := v.(map[string]any); ok {
		if x, ok := m["@value"]; ok {
			v = x
		}
	}
	return v, v != nil
}

// normalizedAttr reports whether v is an attribute object of a normalized
// form: a string type and a value or object member.
func normalizedAttr(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if _, ok := m["type"].(string); !ok {
		return nil, false
	}
	_, hasValue := m["value"]
	_, hasObject := m["object"]
	return m, hasValue || hasObject
}

// unitCode returns an attribute's unit: NGSI-LD unitCode or NGSI v2
// metadata.unitCode.
func unitCode(e map[string]any, name string) string {
	m, ok := e[name].(map[string]any)
	if !ok {
		return ""
	}
	if u, ok := m["unitCode"].(string); ok {
		return u
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"unitCode", "UnitCode"} {
			if u, ok := md[k].(map[string]any); ok {
				if s, ok := u["value"].(string); ok {
					return s
				}
			}
		}
	}
	return ""
}

func attrString(e map[string]any, name string) (string, error) {
	v, ok := attr(e, name)
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", civic.FieldError(name, "must be a string")
	}
	return strings.TrimSpace(s), nil
}

func attrNumber(e map[string]any, name string) (float64, bool, error) {
	v, ok := attr(e, name)
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		return x, true, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true, nil
		}
	}
	return 0, false, civic.FieldError(name, "must be a number")
}

func readLocation(e map[string]any, b *civic.Bin) error {
	v, ok := attr(e, "location")
	if !ok {
		return civic.FieldError("location", "is required")
	}
	m, ok := v.(map[string]any)
	if !ok || m["type"] != "Point" {
		return civic.FieldError("location", "must be a GeoJSON Point")
	}
	coords, ok := m["coordinates"].([]any)
	if !ok || len(coords) < 2 {
		return civic.FieldError("location", "must be a GeoJSON Point [lon, lat]")
	}
	lon, ok1 := coords[0].(float64)
	lat, ok2 := coords[1].(float64)
	if !ok1 || !ok2 {
		return civic.FieldError("location", "coordinates must be numbers [lon, lat]")
	}
	b.Lon, b.Lat = lon, lat
	return nil
}

func readAddress(e map[string]any, b *civic.Bin) error {
	v, ok := attr(e, "address")
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		b.Address = strings.TrimSpace(x)
	case map[string]any:
		s, ok := x["streetAddress"]
		if !ok || s == nil {
			return nil
		}
		str, ok := s.(string)
		if !ok {
			return civic.FieldError("address.streetAddress", "must be a string")
		}
		b.Address = strings.TrimSpace(str)
	default:
		return civic.FieldError("address", "must be an object with streetAddress")
	}
	return nil
}

func readStream(e map[string]any, b *civic.Bin) error {
	v, ok := attr(e, "storedWasteKind")
	if !ok {
		return nil
	}
	var kinds []string
	switch x := v.(type) {
	case string:
		kinds = []string{x}
	case []any:
		for _, k := range x {
			s, ok := k.(string)
			if !ok {
				return civic.FieldError("storedWasteKind", "must be a string")
			}
			kinds = append(kinds, s)
		}
	default:
		return civic.FieldError("storedWasteKind", "must be a string")
	}
	var stream civic.Stream
	for _, k := range kinds {
		k = strings.ToLower(strings.TrimSpace(k))
		s, ok := kindToStream[k]
		if !ok && civic.Stream(k).Valid() {
			s, ok = civic.Stream(k), true
		}
		if !ok {
			return civic.FieldError("storedWasteKind", "%q has no civic stream (organic, inorganic, paper, plastic, metal, glass, other)", k)
		}
		switch {
		case stream == "" || stream == s:
			stream = s
		case isDryRecyclable(stream) && isDryRecyclable(s):
			// Several dry recyclables in one container: mixed recycling.
			stream = civic.StreamRecycling
		default:
			return civic.FieldError("storedWasteKind", "kinds %s map to different civic streams", strings.Join(kinds, ", "))
		}
	}
	b.Stream = stream
	return nil
}

func isDryRecyclable(s civic.Stream) bool {
	return s == civic.StreamRecycling || s == civic.StreamPaper || s == civic.StreamBottlesCans
}

func readCapacity(e map[string]any, b *civic.Bin) error {
	v, ok, err := attrNumber(e, "binCapacity")
	if err != nil {
		return err
	}
	if !ok {
		b.CapacityL = DefaultImportCapacityL
		return nil
	}
	if u := unitCode(e, "binCapacity"); u != "" {
		f, known := volumeUnits[strings.ToUpper(u)]
		if !known {
			return civic.FieldError("binCapacity", "unitCode %q is not a volume unit civic knows (LTR, DMQ, MTQ, GLL)", u)
		}
		v *= f
	}
	b.CapacityL = v
	return nil
}

func readThreshold(e map[string]any, b *civic.Bin) error {
	v, ok, err := attrNumber(e, "binFullnessThreshold")
	if err != nil || !ok {
		return err
	}
	if !(v > 0 && v <= 100) {
		return civic.FieldError("binFullnessThreshold", "must be a percentage in (0, 100]")
	}
	if v > 1 {
		// The model's threshold is a percentage; a value up to 1 can only
		// be a fraction (no one sets a bin full at 1%).
		v = round15(v / 100)
	}
	b.FullThreshold = v
	return nil
}

func readServiceStarted(e map[string]any, b *civic.Bin) error {
	s, err := attrString(e, "dateServiceStarted")
	if err != nil || s == "" {
		return err
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		b.InstalledOn = t.Format(time.DateOnly)
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		b.InstalledOn = s
		return nil
	}
	return civic.FieldError("dateServiceStarted", "must be a date-time (RFC 3339) or a date YYYY-MM-DD")
}
