package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Plan and route exports: GPX 1.1 routes for navigation devices, GeoJSON
// (RFC 7946) for GIS and the plan page's own map, CSV for spreadsheets.
// Each writes whole routes of one plan; a route export is the plan export
// of that route alone.

// exportFormats maps a format name to its content type and file extension.
var exportFormats = map[string]struct{ ctype, ext string }{
	"gpx":     {"application/gpx+xml", "gpx"},
	"geojson": {"application/geo+json", "geojson"},
	"csv":     {"text/csv; charset=utf-8", "csv"},
}

func (u *UI) planExport(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	if err := u.plansEnabled(); err != nil {
		u.dataError(w, r, err)
		return
	}
	pl, err := u.deps.Plans.Plan(r.Context(), r.PathValue("id"))
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	u.writeExport(w, r, pl, nil)
}

func (u *UI) routeExport(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	pl, rt, err := u.planRoute(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	u.writeExport(w, r, pl, &rt)
}

// writeExport encodes the plan (or its route rt) in the path's format into
// a buffer, so an error is still a clean JSON error.
func (u *UI) writeExport(w http.ResponseWriter, r *http.Request, pl civic.Plan, rt *civic.Route) {
	format := r.PathValue("format")
	f, ok := exportFormats[format]
	if !ok {
		u.dataError(w, r, civic.FieldError("format", "must be gpx, geojson or csv"))
		return
	}
	if rt != nil {
		pl.Routes = []civic.Route{*rt}
	}
	n, err := u.assetNames(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	var b bytes.Buffer
	switch format {
	case "gpx":
		err = writeGPX(&b, pl, n)
	case "geojson":
		err = writeGeoJSON(&b, pl, n)
	case "csv":
		err = writePlanCSV(&b, pl, n)
	}
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("download") != "0" {
		h.Set("Content-Disposition", `attachment; filename="`+exportName(pl, rt, f.ext)+`"`)
	}
	w.Write(b.Bytes())
}

// stopTitle is a stop's name as a navigation device lists it.
func stopTitle(s civic.Stop, binNo int) string {
	switch s.Kind {
	case civic.StopBin:
		return fmt.Sprintf("%d. %s", binNo, firstNonEmpty(s.Name, s.BinID))
	case civic.StopDisposal:
		return "Unload: " + firstNonEmpty(s.Name, s.FacilityID)
	case civic.StopDepot:
		return "Depot: " + firstNonEmpty(s.Name, "depot")
	case civic.StopBreak:
		return "Break"
	}
	return s.Name
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// GPX 1.1 (https://www.topografix.com/GPX/1/1/): one <rte> per route,
// one <rtept> per stop, in the schema's element order.
type gpxDoc struct {
	XMLName  xml.Name    `xml:"gpx"`
	Version  string      `xml:"version,attr"`
	Creator  string      `xml:"creator,attr"`
	NS       string      `xml:"xmlns,attr"`
	Metadata gpxMetadata `xml:"metadata"`
	Routes   []gpxRoute  `xml:"rte"`
}

type gpxMetadata struct {
	Name string `xml:"name"`
	Desc string `xml:"desc,omitempty"`
	Time string `xml:"time,omitempty"`
}

type gpxRoute struct {
	Name   string     `xml:"name"`
	Desc   string     `xml:"desc,omitempty"`
	Number int        `xml:"number"`
	Type   string     `xml:"type,omitempty"`
	Points []gpxPoint `xml:"rtept"`
}

type gpxPoint struct {
	Lat  string `xml:"lat,attr"`
	Lon  string `xml:"lon,attr"`
	Time string `xml:"time,omitempty"`
	Name string `xml:"name"`
	Cmt  string `xml:"cmt,omitempty"`
	Desc string `xml:"desc,omitempty"`
	Sym  string `xml:"sym,omitempty"`
	Type string `xml:"type,omitempty"`
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeGPX(w io.Writer, pl civic.Plan, n names) error {
	doc := gpxDoc{Version: "1.1", Creator: "civic", NS: "http://www.topografix.com/GPX/1/1",
		Metadata: gpxMetadata{Name: "Collection plan " + pl.Date, Desc: fmt.Sprintf("%d %s, status %s", len(pl.Routes), civic.Plural(len(pl.Routes), "route"), pl.Status), Time: rfc3339(pl.UpdatedAt)}}
	for _, rt := range pl.Routes {
		gr := gpxRoute{Name: fmt.Sprintf("Route %d · %s", rt.Seq, firstNonEmpty(n.trucks[rt.TruckID], rt.TruckID)),
			Desc: fmt.Sprintf("%s, %.1f km, %s", streamLabel(rt.Stream), rt.DistanceM/1000, duration(rt.DurationS)), Number: rt.Seq, Type: string(rt.Stream)}
		bin := 0
		for _, s := range rt.Stops {
			if s.Kind == civic.StopBin {
				bin++
			}
			pt := gpxPoint{Lat: coord(s.Lat), Lon: coord(s.Lon), Time: rfc3339(s.ETA), Name: stopTitle(s, bin), Cmt: s.Address, Desc: s.Reason, Type: string(s.Kind)}
			switch s.Kind {
			case civic.StopDisposal:
				pt.Sym = "Dump Station"
			case civic.StopDepot:
				pt.Sym = "Parking Area"
			default:
				pt.Sym = "Waypoint"
			}
			gr.Points = append(gr.Points, pt)
		}
		doc.Routes = append(doc.Routes, gr)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// GeoJSON: a LineString per route through its stops in order, then a Point
// per stop; properties say which route and what happens there.
type geoFeature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id,omitempty"`
	Geometry   geoGeometry    `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type geoGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func writeGeoJSON(w io.Writer, pl civic.Plan, n names) error {
	fc := struct {
		Type     string         `json:"type"`
		Plan     map[string]any `json:"plan"`
		Features []geoFeature   `json:"features"`
	}{Type: "FeatureCollection", Features: []geoFeature{},
		Plan: map[string]any{"id": pl.ID, "date": pl.Date, "status": pl.Status, "stats": pl.Stats}}
	for _, rt := range pl.Routes {
		line := make([][2]float64, 0, len(rt.Stops))
		for _, s := range rt.Stops {
			line = append(line, [2]float64{round6(s.Lon), round6(s.Lat)})
		}
		fc.Features = append(fc.Features, geoFeature{Type: "Feature", ID: rt.ID, Geometry: geoGeometry{"LineString", line},
			Properties: map[string]any{"kind": "route", "route_id": rt.ID, "route_seq": rt.Seq, "colour": routeColour(rt.Seq),
				"truck_id": rt.TruckID, "truck": n.trucks[rt.TruckID], "crew_id": rt.CrewID, "crew": n.crewOf(rt),
				"stream": rt.Stream, "status": rt.Status, "distance_m": rt.DistanceM, "duration_s": rt.DurationS,
				"start": n.localTime(rt.Start), "end": n.localTime(rt.End), "capacity_l": rt.CapacityL}})
	}
	for _, rt := range pl.Routes {
		bin := 0
		for _, s := range rt.Stops {
			label := ""
			switch s.Kind {
			case civic.StopBin:
				bin++
				label = strconv.Itoa(bin)
			case civic.StopDisposal:
				label = "F"
			case civic.StopDepot:
				label = "D"
			}
			props := map[string]any{"kind": s.Kind, "stop_id": s.ID, "route_id": rt.ID, "route_seq": rt.Seq, "seq": s.Seq,
				"label": label, "name": stopTitle(s, bin), "address": s.Address, "eta": n.localTime(s.ETA), "depart": n.localTime(s.Depart),
				"load_after_l": s.LoadAfter, "distance_m": s.DistanceM, "status": s.Status, "colour": routeColour(rt.Seq)}
			if s.BinID != "" {
				props["bin_id"] = s.BinID
			}
			if s.FacilityID != "" {
				props["facility_id"] = s.FacilityID
			}
			if s.Decision != "" {
				props["decision"] = s.Decision
				props["reason"] = s.Reason
			}
			if s.Window != "" {
				props["window"] = s.Window
			}
			fc.Features = append(fc.Features, geoFeature{Type: "Feature", ID: s.ID,
				Geometry: geoGeometry{"Point", [2]float64{round6(s.Lon), round6(s.Lat)}}, Properties: props})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(fc)
}

// planCSVHeader is the CSV export's columns, one row per stop.
var planCSVHeader = []string{"plan_date", "route_seq", "route_id", "truck", "crew", "stop_seq", "kind", "bin_id", "facility_id",
	"name", "address", "lat", "lon", "eta", "depart", "window", "decision", "reason", "load_after_l", "distance_m",
	"status", "done_at", "skip_reason"}

func writePlanCSV(w io.Writer, pl civic.Plan, n names) error {
	cw := csv.NewWriter(w)
	cw.Write(planCSVHeader)
	for _, rt := range pl.Routes {
		for _, s := range rt.Stops {
			done := ""
			if s.DoneAt != nil {
				done = n.localTime(*s.DoneAt)
			}
			cw.Write([]string{pl.Date, strconv.Itoa(rt.Seq), cell(rt.ID), cell(firstNonEmpty(n.trucks[rt.TruckID], rt.TruckID)),
				cell(n.crewOf(rt)), strconv.Itoa(s.Seq), string(s.Kind), cell(s.BinID), cell(s.FacilityID),
				cell(s.Name), cell(s.Address), coord(s.Lat), coord(s.Lon), n.localTime(s.ETA), n.localTime(s.Depart), cell(s.Window),
				string(s.Decision), cell(s.Reason), strconv.FormatFloat(s.LoadAfter, 'f', 0, 64), strconv.FormatFloat(s.DistanceM, 'f', 0, 64),
				string(s.Status), done, string(s.SkipReason)})
		}
	}
	cw.Flush()
	return cw.Error()
}
