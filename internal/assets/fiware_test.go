package assets_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

const (
	wasteContainerSchemaURL = "https://smart-data-models.github.io/dataModel.WasteManagement/WasteContainer/schema.json"
	commonSchemaURL         = "https://smart-data-models.github.io/data-models/common-schema.json"
	fiwareTestdata          = "testdata/fiware"
)

// offlineLoader refuses every URL: the schemas the tests need are added as
// local resources, and a test must never fetch.
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("refusing to fetch %s: add a local copy under %s", url, fiwareTestdata)
}

func addResource(t *testing.T, c *jsonschema.Compiler, url, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
}

// wasteContainerSchema compiles the Smart Data Models WasteContainer schema
// with its common definitions resolved locally, asserting formats.
func wasteContainerSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{})
	c.AssertFormat()
	addResource(t, c, commonSchemaURL, filepath.Join(fiwareTestdata, "common-schema.json"))
	addResource(t, c, wasteContainerSchemaURL, filepath.Join(fiwareTestdata, "WasteContainer", "schema.json"))
	s, err := c.Compile(wasteContainerSchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, name string, entity any) {
	t.Helper()
	data, err := json.Marshal(entity)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not validate against WasteContainer/schema.json:\n%v\n%s", name, err, data)
	}
}

// keyValues reduces an entity in a normalized form (NGSI-LD or NGSI v2) to
// the key-values form the schema describes. An NGSI-LD relationship to one
// device becomes the model's one-element refDevice array.
func keyValues(t *testing.T, e map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range e {
		switch k {
		case "id", "type", "@context":
			out[k] = v
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("attribute %s is not an object in the normalized form: %v", k, v)
		}
		typ, _ := m["type"].(string)
		var val any
		switch typ {
		case "Relationship":
			val = m["object"]
			if k == "refDevice" {
				val = []any{val}
			}
		case "Property", "GeoProperty",
			"geo:json", "Number", "Text", "DateTime", "Boolean", "StructuredValue": // NGSI v2
			val = m["value"]
		default:
			t.Fatalf("attribute %s has type %q", k, typ)
		}
		if dt, ok := val.(map[string]any); ok {
			if x, ok := dt["@value"]; ok {
				val = x
			}
		}
		out[k] = val
	}
	return out
}

func decodeEntities(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var list []map[string]any
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		if err := json.Unmarshal(data, &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	var one map[string]any
	if err := json.Unmarshal(data, &one); err != nil {
		t.Fatal(err)
	}
	return []map[string]any{one}
}

func TestWriteWasteContainersGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteWasteContainersKeyValues(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	golden(t, "bins.ngsi-ld.json", buf.Bytes())
	buf.Reset()
	if err := assets.WriteWasteContainersNormalized(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	golden(t, "bins.ngsi-ld-normalized.json", buf.Bytes())
}

// TestWasteContainerExportValidates validates both export forms against the
// Smart Data Models schema.
func TestWasteContainerExportValidates(t *testing.T) {
	s := wasteContainerSchema(t)
	var buf bytes.Buffer
	if err := assets.WriteWasteContainersKeyValues(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	for i, e := range decodeEntities(t, buf.Bytes()) {
		validate(t, s, fmt.Sprintf("key-values entity %d", i), e)
	}
	buf.Reset()
	if err := assets.WriteWasteContainersNormalized(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	for i, e := range decodeEntities(t, buf.Bytes()) {
		for k, v := range e {
			if k == "id" || k == "type" || k == "@context" {
				continue
			}
			m, _ := v.(map[string]any)
			switch m["type"] {
			case "Property", "GeoProperty":
				if _, ok := m["value"]; !ok {
					t.Errorf("entity %d: %s has no value: %v", i, k, v)
				}
			case "Relationship":
				if _, ok := m["object"].(string); !ok {
					t.Errorf("entity %d: %s has no object URI: %v", i, k, v)
				}
			default:
				t.Errorf("entity %d: %s is not an NGSI-LD attribute: %v", i, k, v)
			}
		}
		validate(t, s, fmt.Sprintf("normalized entity %d", i), keyValues(t, e))
	}
}

// TestSchemaIsLive makes sure validation can fail, so the tests above prove
// something.
func TestSchemaIsLive(t *testing.T) {
	s := wasteContainerSchema(t)
	bad := []string{
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"fillingLevel":1.5}`,
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"status":"melted"}`,
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer"}`,
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"address":{"streetAddress":7}}`,
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"dateLastEmptying":"yesterday"}`,
		`{"id":"urn:ngsi-ld:WasteContainer:x","type":"WasteContainer","location":{"type":"Point","coordinates":[1]}}`,
	}
	for _, b := range bad {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(inst) == nil {
			t.Errorf("schema accepts %s", b)
		}
	}
}

// TestSharedExamples validates the Smart Data Models examples with the same
// schema and local common definitions (which shows the local copy is
// faithful enough) and imports them.
func TestSharedExamples(t *testing.T) {
	s := wasteContainerSchema(t)
	current := civic.Bin{ID: "1021:AAWD", Name: "1021:AAWD", Lat: 42.60214472222222, Lon: -8.768460000000001,
		Stream: civic.StreamTrash, CapacityL: 43, Status: civic.StatusActive, FullThreshold: 0.8}
	want := map[string]civic.Bin{
		"example.json":                current,
		"example.jsonld":              current,
		"example-normalized.json":     current,
		"example-normalized.jsonld":   current,
		"example.legacy-2020-07.json": {ID: "Fleming:12a", Name: "Fleming:12a", Serial: "ab56kjl", Model: "c1", Lat: 40.62785133667262, Lon: -3.164485591715449, Stream: civic.StreamTrash, CapacityL: assets.DefaultImportCapacityL, Status: civic.StatusActive, FullThreshold: civic.DefaultFullThreshold},
	}
	dir := filepath.Join(fiwareTestdata, "WasteContainer", "examples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d examples, want %d", len(entries), len(want))
	}
	for _, ent := range entries {
		name := ent.Name()
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range decodeEntities(t, data) {
				if strings.Contains(name, "normalized") {
					e = keyValues(t, e)
				}
				validate(t, s, name, e)
			}
			got, err := assets.ReadWasteContainers(bytes.NewReader(data), name)
			if err != nil {
				t.Fatal(err)
			}
			diffBins(t, got, []civic.Bin{want[name]})
		})
	}
}

// TestSharedCopies checks the copies in testdata against the SHA-256 sums
// of the upstream files (testdata/fiware/SHA256SUMS, taken from the
// reference data the copies were made from), so an edited copy fails
// without anything outside the repository.
func TestSharedCopies(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join(fiwareTestdata, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(sums)) {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", line)
		}
		data, err := os.ReadFile(filepath.Join(fiwareTestdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != sum {
			t.Errorf("testdata copy of %s has SHA-256 %s, upstream %s", name, got, sum)
		}
		n++
	}
	if n < 6 {
		t.Errorf("SHA256SUMS lists %d files, want the schema and its 5 examples", n)
	}
}

func TestWasteContainerRoundTrip(t *testing.T) {
	for _, normalized := range []bool{false, true} {
		var buf bytes.Buffer
		write := assets.WriteWasteContainersKeyValues
		if normalized {
			write = assets.WriteWasteContainersNormalized
		}
		if err := write(&buf, sampleViews()); err != nil {
			t.Fatal(err)
		}
		got, err := assets.ReadWasteContainers(&buf, "containers.json")
		if err != nil {
			t.Fatalf("normalized=%v: %v", normalized, err)
		}
		diffBins(t, got, sampleBins())
	}
}

// TestThresholdRoundTrip: the percent scaling of binFullnessThreshold must
// not change thresholds people set.
func TestThresholdRoundTrip(t *testing.T) {
	// Thresholds up to 1% are left out: the reader takes a percentage up to
	// 1 for a fraction, as some producers write one.
	var views []civic.BinView
	for i := 11; i <= 1000; i++ {
		v := civic.BinView{Bin: civic.Bin{ID: fmt.Sprintf("b%d", i), Name: "b", Lat: 1, Lon: 2, CapacityL: 1,
			Stream: civic.StreamTrash, Status: civic.StatusActive, FullThreshold: float64(i) / 1000}}
		views = append(views, v)
	}
	var buf bytes.Buffer
	if err := assets.WriteWasteContainersNormalized(&buf, views); err != nil {
		t.Fatal(err)
	}
	got, err := assets.ReadWasteContainers(&buf, "t.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].FullThreshold != views[i].FullThreshold {
			t.Errorf("threshold %v read back as %v", views[i].FullThreshold, got[i].FullThreshold)
		}
	}
}

func TestReadWasteContainers(t *testing.T) {
	// One entity, not an array; forms mixed; units; threshold as a fraction.
	in := `{
	  "id": "urn:ngsi-ld:WasteContainer:santander:42",
	  "type": "WasteContainer",
	  "name": {"type": "Property", "value": "Plaza"},
	  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-3.8, 43.46]}},
	  "address": {"streetAddress": "Calle 1", "addressLocality": "Santander"},
	  "binCapacity": {"type": "Property", "value": 1.1, "unitCode": "MTQ"},
	  "binFullnessThreshold": 0.7,
	  "storedWasteKind": ["plastic", "metal"],
	  "refWasteContainerModel": {"type": "Relationship", "object": "urn:ngsi-ld:WasteContainerModel:Bigbelly%20HC5"},
	  "areaServed": "centro",
	  "dateServiceStarted": {"type": "Property", "value": {"@type": "DateTime", "@value": "2023-06-01T22:30:00-02:00"}},
	  "compacting": "yes",
	  "serviceStatus": "maintenance",
	  "fillingLevel": [{"type": "Property", "value": 0.5, "datasetId": "urn:x"}, {"type": "Property", "value": 0.4}],
	  "status": "melted",
	  "somethingElse": {"nested": true}
	}`
	got, err := assets.ReadWasteContainers(strings.NewReader(in), "one.json")
	if err != nil {
		t.Fatal(err)
	}
	want := civic.Bin{ID: "santander:42", Name: "Plaza", Lat: 43.46, Lon: -3.8, Address: "Calle 1", CapacityL: 1100,
		FullThreshold: 0.7, Stream: civic.StreamBottlesCans, Model: "Bigbelly HC5", ZoneID: "centro",
		InstalledOn: "2023-06-01", Compacting: true, Status: civic.StatusMaintenance}
	diffBins(t, got, []civic.Bin{want})

	kinds := []struct {
		kind string
		want civic.Stream
	}{
		{`"organic"`, civic.StreamCompost}, {`"inorganic"`, civic.StreamRecycling}, {`"paper"`, civic.StreamPaper},
		{`"glass"`, civic.StreamBottlesCans}, {`"other"`, civic.StreamTrash}, {`"Compost"`, civic.StreamCompost},
		{`["paper","plastic"]`, civic.StreamRecycling}, {`["organic"]`, civic.StreamCompost},
	}
	for _, k := range kinds {
		in := `[{"id":"x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"storedWasteKind":` + k.kind + `}]`
		got, err := assets.ReadWasteContainers(strings.NewReader(in), "k.json")
		if err != nil || len(got) != 1 || got[0].Stream != k.want {
			t.Errorf("storedWasteKind %s: got %+v, %v; want stream %s", k.kind, got, err, k.want)
		}
	}

	units := []struct {
		attr string
		want float64
	}{
		{`{"type":"Property","value":120,"unitCode":"LTR"}`, 120},
		{`{"type":"Number","value":50,"metadata":{"unitCode":{"type":"Text","value":"GLL"}}}`, 50 * 3.785411784},
		{`{"type":"Property","value":"360"}`, 360},
	}
	for _, u := range units {
		in := `[{"id":"x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"binCapacity":` + u.attr + `}]`
		got, err := assets.ReadWasteContainers(strings.NewReader(in), "u.json")
		if err != nil || len(got) != 1 || got[0].CapacityL != u.want {
			t.Errorf("binCapacity %s: got %+v, %v; want %g", u.attr, got, err, u.want)
		}
	}

	got, err = assets.ReadWasteContainers(strings.NewReader(`{"id":"t","type":["Thing","https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"],"location":{"type":"Point","coordinates":[1,2]}}`), "types.json")
	if err != nil || len(got) != 1 || got[0].ID != "t" {
		t.Errorf("list of types: %v, %v", got, err)
	}

	got, err = assets.ReadWasteContainers(strings.NewReader(`[]`), "none.json")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty array: %v, %v", got, err)
	}
}

func TestReadWasteContainersErrors(t *testing.T) {
	const loc = `"location":{"type":"Point","coordinates":[1,2]}`
	entity := func(attrs string) string {
		if attrs != "" {
			attrs = "," + attrs
		}
		return `{"id":"urn:ngsi-ld:WasteContainer:b1","type":"WasteContainer",` + loc + attrs + `}`
	}
	list := func(entities ...string) string { return "[" + strings.Join(entities, ",") + "]" }
	tests := []struct {
		name, in, want string
	}{
		{"syntax", "[\n{\"id\": }", "c.json:2: is not valid JSON: invalid character '}' looking for beginning of value"},
		{"not entities", `"hello"`, "c.json: must be a JSON array of WasteContainer entities or one entity"},
		{"entity not object", `[1]`, "c.json: [0]: must be a JSON object"},
		{"type", `[{"id":"x","type":"WasteContainerModel",` + loc + `}]`, "c.json: [0].type: must be WasteContainer"},
		{"no type", `[{"id":"x",` + loc + `}]`, "c.json: [0].type: must be WasteContainer"},
		{"no id", `[{"type":"WasteContainer",` + loc + `}]`, "c.json: [0].id: is required"},
		{"bad id", `[{"id":"https://example.com/bins/7","type":"WasteContainer",` + loc + `}]`, `c.json: [0].id: "https://example.com/bins/7" does not end in a civic id (letters, digits, '.', '_', ':', '-')`},
		{"no location", `{"id":"x","type":"WasteContainer"}`, "c.json: location: is required"},
		{"polygon", `{"id":"x","type":"WasteContainer","location":{"type":"Polygon","coordinates":[]}}`, "c.json: location: must be a GeoJSON Point"},
		{"latitude", `{"id":"x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,99]}}`, "c.json: location: must be a latitude between -90 and 90"},
		{"capacity", list(entity(""), entity(`"binCapacity":-5`)), "c.json: [1].binCapacity: must be a positive number of litres"},
		{"capacity type", list(entity(`"binCapacity":"big"`)), "c.json: [0].binCapacity: must be a number"},
		{"capacity unit", list(entity(`"binCapacity":{"type":"Property","value":5,"unitCode":"KGM"}`)), `c.json: [0].binCapacity: unitCode "KGM" is not a volume unit civic knows (LTR, DMQ, MTQ, GLL)`},
		{"threshold", list(entity(`"binFullnessThreshold":150`)), "c.json: [0].binFullnessThreshold: must be a percentage in (0, 100]"},
		{"kind", list(entity(`"storedWasteKind":"batteries"`)), `c.json: [0].storedWasteKind: "batteries" has no civic stream (organic, inorganic, paper, plastic, metal, glass, other)`},
		{"kinds", list(entity(`"storedWasteKind":["organic","paper"]`)), "c.json: [0].storedWasteKind: kinds organic, paper map to different civic streams"},
		{"name type", list(entity(`"name":{"type":"Property","value":7}`)), "c.json: [0].name: must be a string"},
		{"address", list(entity(`"address":{"streetAddress":1}`)), "c.json: [0].address.streetAddress: must be a string"},
		{"date", list(entity(`"dateServiceStarted":"May 2020"`)), "c.json: [0].dateServiceStarted: must be a date-time (RFC 3339) or a date YYYY-MM-DD"},
		{"zone", list(entity(`"areaServed":"Old Town"`)), "c.json: [0].areaServed: must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"},
		{"service status", list(entity(`"serviceStatus":"broken"`)), "c.json: [0].serviceStatus: must be one of active, inactive, maintenance, removed"},
		{"compacting", list(entity(`"compacting":3`)), "c.json: [0].compacting: must be true or false"},
		{"access window", list(entity(""), entity(`"accessWindow":"all day"`)), "c.json: [1].accessWindow: must be a time range HH:MM-HH:MM"},
		{"access window type", list(entity(`"accessWindow":{"type":"Property","value":7}`)), "c.json: [0].accessWindow: must be a string"},
		{"duplicate", list(entity(""), entity("")), `c.json: [1].id: duplicate bin id "b1" (first in [0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assets.ReadWasteContainers(strings.NewReader(tt.in), "c.json")
			if got != nil {
				t.Errorf("got %d bins with an error; want none", len(got))
			}
			wantRowError(t, err, tt.want)
		})
	}
}

// TestWasteContainerTrickyText exports text that needs escaping in URIs and
// JSON, checks the schema still accepts it and that it reads back.
func TestWasteContainerTrickyText(t *testing.T) {
	s := wasteContainerSchema(t)
	models := []string{"A/B 100%", "Größe #3?", "x:y@z", "  ", "urn:ngsi-ld:WasteContainerModel:nested", "%zz"}
	for _, model := range models {
		b := civic.Bin{ID: "b-1", Name: "Ünïcode \"name\"\n<b>", Lat: -33.9, Lon: 151.2, Address: "1 George St\tSydney",
			Stream: civic.StreamTrash, CapacityL: 0.5, Status: civic.StatusActive, FullThreshold: 0.333, Model: model}
		for _, normalized := range []bool{false, true} {
			var buf bytes.Buffer
			write := assets.WriteWasteContainersKeyValues
			if normalized {
				write = assets.WriteWasteContainersNormalized
			}
			if err := write(&buf, []civic.BinView{{Bin: b}}); err != nil {
				t.Fatal(err)
			}
			for _, e := range decodeEntities(t, buf.Bytes()) {
				if normalized {
					e = keyValues(t, e)
				}
				validate(t, s, fmt.Sprintf("model %q", model), e)
			}
			got, err := assets.ReadWasteContainers(&buf, "tricky.json")
			if err != nil {
				t.Fatalf("model %q: %v", model, err)
			}
			want := b
			want.Model = strings.TrimSpace(model) // readers trim text
			want.Address = strings.TrimSpace(b.Address)
			diffBins(t, got, []civic.Bin{want})
		}
	}
}
