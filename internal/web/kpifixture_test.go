package web

import (
	"context"
	"fmt"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// addHistory gives the fixture's city the days before f.now as the demo
// makes them, written through the store: each day a round of the sensor
// model's own collections (source "demo") of every third bin, at fills
// that vary with the bin; a locked plan whose one route of eight bins the
// crew works (collected, one skipped, one collected late), and a few bins
// found 100 % full (overflow incidents).
func (f *fixture) addHistory(days int) {
	f.t.Helper()
	ctx := context.Background()
	bins := f.city.Bins
	depot := f.city.Depots[0]
	today := civic.DayOf(f.now, time.UTC)
	for d := days; d >= 1; d-- {
		day := today.AddDate(0, 0, -d)
		date := day.Format(time.DateOnly)
		for i := d % 3; i < len(bins)-1; i += 3 {
			fill := float64((i*37+d*11)%100) / 100
			c := civic.Collection{BinID: bins[i].ID, Time: day.Add(time.Duration(7*60+i) * time.Minute), FillBefore: &fill, Source: "demo"}
			if err := f.st.RecordCollection(ctx, &c); err != nil {
				f.t.Fatalf("RecordCollection: %v", err)
			}
		}
		if day.Weekday() == time.Sunday {
			continue
		}
		start := day.Add(6 * time.Hour)
		stops := []civic.Stop{{Kind: civic.StopDepot, Lat: depot.Lat, Lon: depot.Lon, ETA: start, Depart: start}}
		lat, lon, km := depot.Lat, depot.Lon, 0.0
		for k := 0; k < 8; k++ {
			b := bins[(d*8+k*5)%(len(bins)-1)]
			m := civic.HaversineM(lat, lon, b.Lat, b.Lon) * 1.35
			km += m / 1000
			eta := start.Add(time.Duration(20*(k+1)) * time.Minute)
			stops = append(stops, civic.Stop{Kind: civic.StopBin, BinID: b.ID, Name: b.Name, Lat: b.Lat, Lon: b.Lon,
				ETA: eta, Depart: eta.Add(2 * time.Minute), DistanceM: m, Decision: civic.MustGo})
			lat, lon = b.Lat, b.Lon
		}
		back := civic.HaversineM(lat, lon, depot.Lat, depot.Lon) * 1.35
		end := start.Add(4 * time.Hour)
		stops = append(stops, civic.Stop{Kind: civic.StopDepot, Lat: depot.Lat, Lon: depot.Lon, ETA: end, Depart: end, DistanceM: back})
		pl := &civic.Plan{ID: "plan-" + date, Date: date, CreatedBy: "scheduler", Routes: []civic.Route{{
			TruckID: f.city.Trucks[0].ID, CrewID: f.city.Crews[0].ID, DepotID: depot.ID, Stream: civic.StreamTrash,
			Start: start, End: end, DistanceM: km*1000 + back, Stops: stops}}}
		if err := f.st.SavePlan(ctx, pl); err != nil {
			f.t.Fatalf("SavePlan %s: %v", date, err)
		}
		if _, err := f.st.SetPlanStatus(ctx, pl.ID, civic.PlanDraft, civic.PlanLocked); err != nil {
			f.t.Fatalf("lock %s: %v", date, err)
		}
		rt := pl.Routes[0]
		for k, st := range rt.Stops {
			if st.Kind != civic.StopBin {
				continue
			}
			r := civic.StopReport{ClientID: fmt.Sprintf("h-%s-%d", date, k), StopID: st.ID, Status: civic.StopCollected,
				At: st.ETA.Add(5 * time.Minute), By: "crew1"}
			switch k {
			case 3:
				r.Status, r.SkipReason = civic.StopSkipped, civic.SkipBlocked
			case 6:
				r.At = st.ETA.Add(50 * time.Minute)
			}
			if _, _, _, err := f.st.ReportStop(ctx, &r); err != nil {
				f.t.Fatalf("ReportStop %s: %v", st.ID, err)
			}
		}
		for k := 0; k < d%3+1; k++ {
			b := bins[(d*7+k*13)%len(bins)]
			full := 1.0
			c := civic.Collection{BinID: b.ID, Time: day.Add(time.Duration(10+k) * time.Hour), FillBefore: &full, Source: "demo"}
			if err := f.st.RecordCollection(ctx, &c); err != nil {
				f.t.Fatalf("RecordCollection: %v", err)
			}
		}
	}
}

// addSimulation stores a run with a small self-contained report: a title,
// a table and an inline SVG bar chart.
func (f *fixture) addSimulation(id, name string) civic.SimulationRun {
	f.t.Helper()
	report := `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + name + `</title><style>body{font-family:sans-serif;margin:1rem}svg{max-width:100%;height:auto}.b1{fill:#9aa3b2}.b2{fill:#1f4fa3}</style></head>
<body><h1>` + name + `</h1><p>Collections over 90 days, fixed schedule against sensors.</p>
<svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 160" width="320" height="160" role="img" aria-label="collections by policy">
<rect class="b1" x="40" y="20" width="100" height="120"/><rect class="b2" x="180" y="70" width="100" height="70"/>
<text x="90" y="155" text-anchor="middle" font-size="12">fixed</text><text x="230" y="155" text-anchor="middle" font-size="12">sensors</text></svg>
<table><tr><th>policy</th><th>collections</th></tr><tr><td>fixed</td><td>1200</td></tr><tr><td>sensors</td><td>700</td></tr></table>
<script>document.body.dataset.ran = "yes"</script></body></html>`
	run := civic.SimulationRun{ID: id, Name: name, CreatedBy: "analyst1", Summary: "sim: collections -42% km -37% overflows +0",
		Result: []byte(`{"policies":[{"name":"fixed","collections":1200},{"name":"sensors","collections":700}]}`), Report: []byte(report)}
	if err := f.st.SaveSimulation(context.Background(), &run); err != nil {
		f.t.Fatalf("SaveSimulation: %v", err)
	}
	return run
}
