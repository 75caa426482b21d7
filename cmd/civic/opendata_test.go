package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOpenDataServed starts the real binary and reads the open data
// portal without credentials: the catalogue page, data.json, a dataset
// and NGSI-LD.
func TestOpenDataServed(t *testing.T) {
	p := startServer(t, t.TempDir())
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(p.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/data"); resp.StatusCode != 200 || !strings.Contains(body, "Public waste bins") {
		t.Errorf("/data: %d %.300s", resp.StatusCode, body)
	}
	resp, body := get("/data.json")
	var cat struct {
		Dataset []struct {
			Publisher struct{ Name string }
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &cat) != nil || len(cat.Dataset) < 5 || cat.Dataset[0].Publisher.Name != "civic" {
		t.Errorf("/data.json: %d %.300s", resp.StatusCode, body)
	}
	if resp, body := get("/data/bins.csv"); resp.StatusCode != 200 || !strings.HasPrefix(body, "id,name,stream,") {
		t.Errorf("/data/bins.csv: %d %.300s", resp.StatusCode, body)
	}
	if resp, body := get("/data/bins.csv?$limit=0"); resp.StatusCode != 400 || !strings.Contains(body, `"field":"$limit"`) {
		t.Errorf("/data/bins.csv?$limit=0: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := get("/ngsi-ld/v1/entities?type=WasteContainer"); resp.StatusCode != 200 || resp.Header.Get("Link") == "" {
		t.Errorf("NGSI-LD: %d, Link %q", resp.StatusCode, resp.Header.Get("Link"))
	}
}

func TestOpenDataConfig(t *testing.T) {
	c, err := parseServe(t, map[string]string{"CIVIC_DATA_PUBLISHER": "City of Springfield"}, "--data", t.TempDir(),
		"--data-email", "open@springfield.example", "--data-location-decimals", "bins=4, daily_fill=3")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataPublisher != "City of Springfield" || c.DataEmail != "open@springfield.example" {
		t.Errorf("publisher %q, e-mail %q", c.DataPublisher, c.DataEmail)
	}
	d, err := parseDecimals(c.DataPrecision)
	if err != nil || d["bins"] != 4 || d["daily_fill"] != 3 {
		t.Errorf("decimals %v, %v", d, err)
	}
	for _, bad := range []string{"bins", "bins=0", "bins=x", "bins=13"} {
		if _, err := parseDecimals(bad); err == nil {
			t.Errorf("--data-location-decimals %q accepted", bad)
		}
	}
	for _, bad := range []config{
		{DataEmail: "not an address"},
		{DataLicense: "CC BY"},
		{DataPrecision: "plans=3"},
		{DataPrecision: "nosuch=3"},
	} {
		if _, err := newPortal(&bad, nil, nil); err == nil {
			t.Errorf("open data configuration %+v accepted", bad)
		}
	}
}
