package sim_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

func TestGenerateCityDeterministic(t *testing.T) {
	p := sim.CityParams{Bins: 300, Seed: 42}
	a, b := sim.GenerateCity(p), sim.GenerateCity(p)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two cities from the same parameters differ")
	}
	c := sim.GenerateCity(sim.CityParams{Bins: 300, Seed: 43})
	same := 0
	for i := range a.Bins {
		if a.Bins[i].Lat == c.Bins[i].Lat && a.Bins[i].Lon == c.Bins[i].Lon {
			same++
		}
	}
	if same > 30 {
		t.Errorf("seeds 42 and 43 put %d of 300 bins in the same place", same)
	}
}

// checkCity checks every entity validates and every reference resolves.
func checkCity(t *testing.T, c *sim.City) {
	t.Helper()
	p := c.Params
	if len(c.Bins) != p.Bins || len(c.Sites) != p.Bins || len(c.Devices) != p.Bins {
		t.Fatalf("got %d bins, %d sites, %d devices; want %d of each", len(c.Bins), len(c.Sites), len(c.Devices), p.Bins)
	}
	if len(c.Zones) != p.Zones {
		t.Errorf("got %d zones, want %d", len(c.Zones), p.Zones)
	}
	if n := len(c.Depots); n < 1 || n > 2 {
		t.Errorf("got %d depots, want 1 or 2", n)
	}
	ids := map[string]bool{}
	unique := func(kind, id string) {
		if ids[kind+"/"+id] {
			t.Errorf("duplicate %s id %q", kind, id)
		}
		ids[kind+"/"+id] = true
	}
	zones := map[string]*civic.Zone{}
	for i := range c.Zones {
		z := &c.Zones[i]
		if err := z.Validate(); err != nil {
			t.Errorf("zone %s: %v", z.ID, err)
		}
		unique("zone", z.ID)
		zones[z.ID] = z
	}
	names := map[string]bool{}
	for i := range c.Bins {
		b := &c.Bins[i]
		if err := b.Validate(); err != nil {
			t.Errorf("bin %s: %v", b.ID, err)
		}
		unique("bin", b.ID)
		unique("serial", b.Serial)
		if names[b.Name] {
			t.Errorf("duplicate bin name %q", b.Name)
		}
		names[b.Name] = true
		if b.Address == "" || b.Model == "" || b.InstalledOn == "" {
			t.Errorf("bin %s lacks address, model or installation date: %+v", b.ID, b)
		}
		if inst, _ := time.Parse(time.DateOnly, b.InstalledOn); !inst.Before(p.Start) {
			t.Errorf("bin %s installed on %s, not before the start %s", b.ID, b.InstalledOn, p.Start)
		}
		z, ok := zones[b.ZoneID]
		if !ok {
			t.Errorf("bin %s: unknown zone %q", b.ID, b.ZoneID)
		} else if !z.Boundary.Contains(b.Lon, b.Lat) {
			t.Errorf("bin %s at %g,%g is outside its zone %s", b.ID, b.Lat, b.Lon, b.ZoneID)
		}
		if i, ok := c.BinIndex(b.ID); !ok || &c.Bins[i] != b {
			t.Errorf("BinIndex(%q) = %d, %v", b.ID, i, ok)
		}
	}
	for i := range c.Devices {
		d := &c.Devices[i]
		if err := d.Validate(); err != nil {
			t.Errorf("device %s: %v", d.ID, err)
		}
		unique("device", d.ID)
		if d.DevEUI != "" {
			unique("deveui", d.DevEUI)
		}
		if d.BinID != c.Bins[i].ID {
			t.Errorf("device %d is on bin %q, want %q", i, d.BinID, c.Bins[i].ID)
		}
		if d.ExpectedInterval < 600 || d.ExpectedInterval > 1200 {
			t.Errorf("device %s sends every %d s, want 10-20 min", d.ID, d.ExpectedInterval)
		}
	}
	depots := map[string]bool{}
	for i := range c.Depots {
		d := &c.Depots[i]
		if err := d.Validate(); err != nil {
			t.Errorf("depot %s: %v", d.ID, err)
		}
		unique("depot", d.ID)
		depots[d.ID] = true
	}
	trucks := map[string]bool{}
	for i := range c.Trucks {
		tr := &c.Trucks[i]
		if err := tr.Validate(); err != nil {
			t.Errorf("truck %s: %v", tr.ID, err)
		}
		unique("truck", tr.ID)
		trucks[tr.ID] = true
		if !depots[tr.DepotID] {
			t.Errorf("truck %s: unknown depot %q", tr.ID, tr.DepotID)
		}
	}
	for i := range c.Crews {
		cr := &c.Crews[i]
		if err := cr.Validate(); err != nil {
			t.Errorf("crew %s: %v", cr.ID, err)
		}
		unique("crew", cr.ID)
		if !trucks[cr.TruckID] || !depots[cr.DepotID] {
			t.Errorf("crew %s: unknown truck %q or depot %q", cr.ID, cr.TruckID, cr.DepotID)
		}
		for _, m := range cr.Members {
			unique("member", m)
		}
	}
	// Every stream with bins has a truck.
	streams := map[civic.Stream]bool{}
	for _, tr := range c.Trucks {
		streams[tr.Stream] = true
	}
	for _, b := range c.Bins {
		if !streams[b.Stream] {
			t.Errorf("no truck collects %s", b.Stream)
			streams[b.Stream] = true
		}
	}
	// Every truck's stream has a facility to unload at.
	accepted := map[civic.Stream]bool{}
	for i := range c.Facilities {
		f := c.Facilities[i]
		f.Normalize()
		if err := f.Validate(); err != nil {
			t.Errorf("facility %s: %v", f.ID, err)
		}
		unique("facility", f.ID)
		for _, s := range f.Streams {
			accepted[s] = true
		}
	}
	for s := range streams {
		if !accepted[s] {
			t.Errorf("no facility accepts %s", s)
		}
	}
}

func TestGenerateCityValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    sim.CityParams
	}{
		{"defaults", sim.CityParams{}},
		{"one bin", sim.CityParams{Bins: 1, Seed: 3}},
		{"small, 6 zones", sim.CityParams{Bins: 50, Zones: 6, Seed: 4}},
		{"10 zones, elsewhere", sim.CityParams{Bins: 400, Zones: 10, Seed: 5, CenterLat: 52.52, CenterLon: 13.405, RadiusKm: 5,
			Location: time.FixedZone("CET", 3600), Start: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{"16 zones, 1 depot", sim.CityParams{Bins: 300, Zones: 16, Depots: 1, Seed: 6}},
		{"big", sim.CityParams{Bins: 10000, Seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sim.GenerateCity(tc.p)
			checkCity(t, c)
		})
	}
}

func TestGenerateCityDefaults(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{})
	p := c.Params
	if p.Bins != 1000 || p.CenterLat != sim.DefaultCenterLat || p.CenterLon != sim.DefaultCenterLon ||
		!p.Start.Equal(sim.DefaultStart) || p.Location != sim.DefaultLocation || p.Zones != 8 || p.Depots != 2 {
		t.Errorf("defaults not applied: %+v", p)
	}
	if n := len(c.Zones); n < 6 || n > 10 {
		t.Errorf("%d zones, want 6-10", n)
	}
}

// TestGenerateCityMix checks the proportions the calibration asks for.
func TestGenerateCityMix(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Seed: 1})
	n := float64(len(c.Bins))
	compacting, trash := 0, 0
	streams := map[civic.Stream]int{}
	scales := map[civic.FillScale]int{}
	kinds := map[string]int{}
	for i, b := range c.Bins {
		streams[b.Stream]++
		if b.Stream == civic.StreamTrash {
			trash++
		}
		if b.Compacting {
			compacting++
			if b.CapacityL != sim.CompactorCapacityL {
				t.Errorf("compacting bin %s holds %g L, want %g", b.ID, b.CapacityL, sim.CompactorCapacityL)
			}
		} else if b.CapacityL < 120 || b.CapacityL > 240 {
			t.Errorf("plain bin %s holds %g L, want 120-240", b.ID, b.CapacityL)
		}
		d := c.Devices[i]
		scales[d.FillScale]++
		kinds[d.Kind]++
		if (d.Kind == "bigbelly") != (d.FillScale == civic.ScaleBigbelly) {
			t.Errorf("device %s: kind %s with scale %s", d.ID, d.Kind, d.FillScale)
		}
		if d.Kind == "bigbelly" && !b.Compacting {
			t.Errorf("device %s: a Bigbelly sensor on a plain bin", d.ID)
		}
		if (d.DevEUI != "") == (d.Kind == "bigbelly") {
			t.Errorf("device %s: kind %s with DevEUI %q (LoRaWAN sensors have one, cellular stations not)", d.ID, d.Kind, d.DevEUI)
		}
	}
	if share := float64(compacting) / n; share < 0.33 || share > 0.47 {
		t.Errorf("compacting share %.2f, want about 0.4", share)
	}
	if share := float64(trash) / n; share < 0.65 || share > 0.85 {
		t.Errorf("trash share %.2f, want mostly trash", share)
	}
	for _, s := range civic.Streams {
		if streams[s] == 0 {
			t.Errorf("no %s bins", s)
		}
	}
	for _, s := range []civic.FillScale{civic.ScaleFraction, civic.ScalePercent, civic.ScaleBigbelly} {
		if scales[s] < 50 {
			t.Errorf("only %d devices on the %s scale", scales[s], s)
		}
	}
	for _, k := range []string{"ultrasonic", "laser", "bigbelly"} {
		if kinds[k] < 50 {
			t.Errorf("only %d %s devices", kinds[k], k)
		}
	}
}

// TestClustering checks that bins crowd downtown and along the corridors,
// measured on the generated coordinates.
func TestClustering(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Seed: 11})
	p := c.Params
	mLat := 111320.0
	mLon := 111320 * math.Cos(p.CenterLat*math.Pi/180)
	var downtown, corridor, far int
	for _, b := range c.Bins {
		x, y := (b.Lon-p.CenterLon)*mLon, (b.Lat-p.CenterLat)*mLat
		r := math.Hypot(x, y)
		switch {
		case r < 2000:
			downtown++
		case r > 3000:
			far++
		}
		// Market St and Broad St run east-west and north-south through
		// the centre.
		if r >= 2000 && (math.Abs(x) < 30 || math.Abs(y) < 30) {
			corridor++
		}
	}
	n := float64(len(c.Bins))
	area := math.Pi * p.RadiusKm * p.RadiusKm * 1e6
	// Uniformly spread bins would put 8% within 2 km and 1% on the two
	// 60 m wide strips outside it.
	if share, uniform := float64(downtown)/n, math.Pi*2000*2000/area; share < 4*uniform {
		t.Errorf("%.0f%% of bins within 2 km of the centre, want well over %.0f%%", 100*share, 100*uniform)
	}
	if share, uniform := float64(corridor)/n, 2*2*(p.RadiusKm*1000-2000)*60/area; share < 8*uniform {
		t.Errorf("%.1f%% of bins on Market St and Broad St outside downtown, want well over %.1f%%", 100*share, 100*uniform)
	}
	if share := float64(far) / n; share < 0.1 || share > 0.5 {
		t.Errorf("%.0f%% of bins more than 3 km out, want sparse but present coverage", 100*share)
	}
	areas := map[sim.Area]int{}
	for _, s := range c.Sites {
		areas[s.Area]++
		if s.Activity <= 0 || s.Commercial < 0 || s.Commercial > 1 {
			t.Errorf("bad site %+v", s)
		}
	}
	for _, a := range []sim.Area{sim.AreaDowntown, sim.AreaCorridor, sim.AreaOutskirts} {
		if areas[a] < 100 {
			t.Errorf("only %d bins in area %s", areas[a], a)
		}
	}
}
