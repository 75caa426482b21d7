package opendata_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/storetest"
)

const wasteContext = "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld"

// TestNGSILD checks the NGSI-LD entity endpoints: WasteContainer entities
// with fillingLevel as a fraction and status mapped, the context in a Link
// header for application/json and in the body for application/ld+json,
// paging and counts, and the API's error bodies.
func TestNGSILD(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})

		resp, body := f.get(t, "/ngsi-ld/v1/entities?type=WasteContainer&count=true")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("entities: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		link := resp.Header.Get("Link")
		if link != "<"+wasteContext+`>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"` {
			t.Errorf("Link header %q", link)
		}
		if c := resp.Header.Get("NGSILD-Results-Count"); c != "5" {
			t.Errorf("NGSILD-Results-Count %q, want 5", c)
		}
		var ents []map[string]any
		if err := json.Unmarshal(body, &ents); err != nil || len(ents) != 5 {
			t.Fatalf("entities: %v, %d: %s", err, len(ents), body)
		}
		for _, e := range ents {
			if _, ok := e["@context"]; ok {
				t.Errorf("application/json entity %v carries @context: it goes in the Link header", e["id"])
			}
			if e["type"] != "WasteContainer" || !strings.HasPrefix(e["id"].(string), "urn:ngsi-ld:WasteContainer:") {
				t.Errorf("entity %v %v", e["id"], e["type"])
			}
		}
		b1 := ents[0]
		fl, _ := b1["fillingLevel"].(map[string]any)
		if b1["id"] != "urn:ngsi-ld:WasteContainer:B-1" || fl["type"] != "Property" || fl["value"] != 0.875 {
			t.Errorf("B-1 normalized fillingLevel %v (want a Property, 0.875)", b1["fillingLevel"])
		}
		if st, _ := b1["status"].(map[string]any); st["value"] != "ok" {
			t.Errorf("B-1 status %v, want ok", b1["status"])
		}

		resp, body = f.get(t, "/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:B-2?options=keyValues", "Accept", "application/ld+json")
		var e map[string]any
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ld+json" || json.Unmarshal(body, &e) != nil {
			t.Fatalf("entity B-2 as JSON-LD: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if resp.Header.Get("Link") != "" || e["@context"] == nil || e["fillingLevel"] != 0.885 || e["storedWasteKind"] != "inorganic" {
			t.Errorf("B-2 JSON-LD key-values: Link %q, entity %v", resp.Header.Get("Link"), e)
		}

		resp, body = f.get(t, "/ngsi-ld/v1/entities?type=WasteContainer&limit=2&offset=3&options=keyValues")
		ents = nil
		if json.Unmarshal(body, &ents) != nil || len(ents) != 2 || ents[0]["id"] != "urn:ngsi-ld:WasteContainer:B-4" {
			t.Errorf("limit 2 offset 3: %d %s", resp.StatusCode, body)
		}
		resp, body = f.get(t, "/ngsi-ld/v1/entities?id=urn:ngsi-ld:WasteContainer:B-3,urn:ngsi-ld:WasteContainer:nope")
		ents = nil
		if json.Unmarshal(body, &ents) != nil || len(ents) != 1 || ents[0]["id"] != "urn:ngsi-ld:WasteContainer:B-3" {
			t.Errorf("by id: %d %s", resp.StatusCode, body)
		}
		resp, body = f.get(t, "/ngsi-ld/v1/entities?type=Vehicle&count=true")
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" || resp.Header.Get("NGSILD-Results-Count") != "0" {
			t.Errorf("another type: %d %s", resp.StatusCode, body)
		}

		for _, c := range []struct {
			path, accept string
			status       int
			kind         string
		}{
			{"/ngsi-ld/v1/entities", "", 400, "BadRequestData"},
			{"/ngsi-ld/v1/entities?type=WasteContainer&limit=5000", "", 400, "BadRequestData"},
			{"/ngsi-ld/v1/entities?type=WasteContainer&limit=x", "", 400, "BadRequestData"},
			{"/ngsi-ld/v1/entities?type=WasteContainer&offset=-3", "", 400, "BadRequestData"},
			{"/ngsi-ld/v1/entities?type=WasteContainer&q=fillingLevel>0.5", "", 400, "BadRequestData"},
			{"/ngsi-ld/v1/entities?type=WasteContainer", "text/html", 406, "NotAcceptable"},
			{"/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:nope", "", 404, "ResourceNotFound"},
			{"/ngsi-ld/v1/entities/B-1", "", 404, "ResourceNotFound"},
			{"/ngsi-ld/v1/subscriptions", "", 404, "ResourceNotFound"},
		} {
			var h []string
			if c.accept != "" {
				h = []string{"Accept", c.accept}
			}
			resp, body := f.get(t, c.path, h...)
			var pd struct{ Type, Detail string }
			if resp.StatusCode != c.status || json.Unmarshal(body, &pd) != nil || pd.Type != "https://uri.etsi.org/ngsi-ld/errors/"+c.kind || pd.Detail == "" {
				t.Errorf("%s (Accept %q): %d %s; want %d %s", c.path, c.accept, resp.StatusCode, body, c.status, c.kind)
			}
		}
		if resp, _ := f.get(t, "/ngsi-ld/v1/entities?type=WasteContainer"); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("NGSI-LD is not readable cross-origin")
		}
	})
}
