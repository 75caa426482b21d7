package whatif

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/sim"
)

// minRateHours is how many hours of fill cycles a bin's own rate needs;
// with fewer, the bin takes the median of its zone and stream.
const minRateHours = 24

// CitySource is what OwnCity reads of a city's database (the store has
// it).
type CitySource interface {
	ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error)
	ListDevices(ctx context.Context) ([]civic.Device, error)
	ListZones(ctx context.Context) ([]civic.Zone, error)
	ListDepots(ctx context.Context) ([]civic.Depot, error)
	ListTrucks(ctx context.Context) ([]civic.Truck, error)
	ListCrews(ctx context.Context) ([]civic.Crew, error)
	ListFacilities(ctx context.Context) ([]civic.Facility, error)
	Readings(ctx context.Context, q civic.ReadingQuery) ([]civic.Reading, error)
}

// OwnCity builds the city that a simulation of a database runs (civic
// simulate --data, and simulations started from the web app): its active
// bins, their fill sensors, zones, depots, active trucks, crews and
// disposal facilities, the simulation starting at the next local
// midnight. Each bin's waste a day is measured from the last historyDays
// of its sensors' readings (forecast.FillRates); a bin measured over less
// than a day of fill cycles takes the median of the bins of its zone and
// stream (else of its stream, else of the city). Each bin's weekly
// rhythm, the mix of a busy street's and a residential one's, is fitted
// to when its readings rose (sim.RhythmFit; half and half when they
// cannot tell). It returns the city and a sentence for the report saying
// so. progress, if set, is called after each sensor's history is read.
// Errors: Invalid when there are no bins or no bin has a measurable
// history.
func OwnCity(ctx context.Context, st CitySource, now time.Time, loc *time.Location, historyDays int, progress func(done, total int)) (*sim.City, string, error) {
	views, err := st.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		return nil, "", err
	}
	c := &sim.City{Params: sim.CityParams{Location: loc}}
	for _, v := range views {
		if v.Status == civic.StatusActive && v.CapacityL > 0 {
			c.Bins = append(c.Bins, v.Bin)
		}
	}
	if len(c.Bins) == 0 {
		return nil, "", civic.FieldError("data", "the database has no active bins to simulate")
	}
	onBin := map[string]bool{}
	for _, b := range c.Bins {
		onBin[b.ID] = true
	}
	devices, err := st.ListDevices(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, d := range devices {
		if d.BinID != "" && onBin[d.BinID] && d.Status == civic.StatusActive {
			c.Devices = append(c.Devices, d)
		}
	}
	if c.Zones, err = st.ListZones(ctx); err != nil {
		return nil, "", err
	}
	if c.Depots, err = st.ListDepots(ctx); err != nil {
		return nil, "", err
	}
	trucks, err := st.ListTrucks(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, t := range trucks {
		if t.Status == civic.StatusActive {
			c.Trucks = append(c.Trucks, t)
		}
	}
	if len(c.Trucks) == 0 || len(c.Depots) == 0 {
		return nil, "", civic.FieldError("data", "the database has no active trucks or no depot: the planner needs both")
	}
	if c.Crews, err = st.ListCrews(ctx); err != nil {
		return nil, "", err
	}
	if c.Facilities, err = st.ListFacilities(ctx); err != nil {
		return nil, "", err
	}
	y, m, d := now.In(loc).Date()
	c.Params.Start = time.Date(y, m, d+1, 0, 0, 0, 0, loc)

	// The history, a device at a time (the store keeps readings in
	// device order), measured as it is read so that only one device's
	// readings are held; a bin measured by several devices (a sensor
	// replaced) adds up their rises and spans.
	q := civic.ReadingQuery{From: now.AddDate(0, 0, -historyDays), To: now}
	rates := map[string]forecast.FillRate{}
	rhythms := map[string]*sim.RhythmFit{}
	fo := forecast.Options{Location: loc}
	for i, dev := range c.Devices {
		q.Device = dev.ID
		rs, err := st.Readings(ctx, q)
		if err != nil {
			return nil, "", err
		}
		measured := forecast.FillRates(rs, fo, func(bin string, from, to time.Time, rise float64) {
			f := rhythms[bin]
			if f == nil {
				f = &sim.RhythmFit{Loc: loc}
				rhythms[bin] = f
			}
			f.Add(from, to, rise)
		})
		for bin, r := range measured {
			if o, ok := rates[bin]; ok {
				h := o.Hours + r.Hours
				r = forecast.FillRate{PerHour: (o.PerHour*o.Hours + r.PerHour*r.Hours) / h, Hours: h, Cycles: o.Cycles + r.Cycles}
			}
			rates[bin] = r
		}
		if progress != nil {
			progress(i+1, len(c.Devices))
		}
	}

	// Litres a day: measured, else the median of the bin's group.
	litres := make([]float64, len(c.Bins))
	measured := make([]bool, len(c.Bins))
	groups := map[string][]float64{}
	for i, b := range c.Bins {
		r, ok := rates[b.ID]
		if !ok || r.Hours < minRateHours {
			continue
		}
		litres[i], measured[i] = r.PerHour*24*b.CapacityL, true
		for _, k := range []string{"zone:" + b.ZoneID + "/" + string(b.Stream), "stream:" + string(b.Stream), "city"} {
			groups[k] = append(groups[k], litres[i])
		}
	}
	if len(groups["city"]) == 0 {
		return nil, "", civic.FieldError("data", "no bin has a day of fill readings in the last %d days to learn from", historyDays)
	}
	median := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	borrowed, rhythm := 0, 0
	c.Sites = make([]sim.Site, len(c.Bins))
	for i, b := range c.Bins {
		site := sim.DefaultSite
		site.Exact = true
		site.Activity = litres[i]
		if f := rhythms[b.ID]; f != nil {
			if w, ok := f.Commercial(); ok {
				site.Commercial = w
				rhythm++
			}
		}
		if !measured[i] {
			borrowed++
			for _, k := range []string{"zone:" + b.ZoneID + "/" + string(b.Stream), "stream:" + string(b.Stream), "city"} {
				if xs := groups[k]; len(xs) > 0 {
					site.Activity = median(xs)
					break
				}
			}
		}
		c.Sites[i] = site
	}
	note := fmt.Sprintf("The city is yours: the %d active bins of the database, with their %d fill sensors, %d trucks, %d depots and %d disposal facilities. "+
		"How much waste each bin receives a day is measured from its sensors' readings of the last %d days (the rise of each fill cycle, from one emptying to the next, over its length); "+
		"bins with less than a day of such history: %d; they take the median of the bins of their zone and stream. "+
		"Within the week, waste arrives with a rhythm between a busy street's (office hours, quiet weekends) and a residential one's (evenings, busy weekends): for %d bins the mix that best fits when their readings rose, for the others half and half. "+
		"Day-to-day variation, street fairs and sensor faults are drawn as for a generated city. "+
		"The simulated period starts %s.",
		len(c.Bins), len(c.Devices), len(c.Trucks), len(c.Depots), len(c.Facilities), historyDays, borrowed, rhythm, c.Params.Start.Format(time.DateOnly))
	return c, note, nil
}
