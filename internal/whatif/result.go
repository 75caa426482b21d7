package whatif

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Costs are the factors that turn kilometres and hours into fuel, CO2 and
// money. They are assumptions, listed in the report; change them to the
// city's own figures.
type Costs struct {
	// FuelLPerKm is diesel burnt per kilometre driven; default 0.35.
	FuelLPerKm float64 `json:"fuel_l_per_km"`
	// CO2KgPerL is the CO2 from burning a litre of diesel; default 2.68.
	CO2KgPerL float64 `json:"co2_kg_per_l"`
	// CrewPerHour is what a truck's crew costs per hour of route; default
	// 60 (euros).
	CrewPerHour float64 `json:"crew_eur_per_h"`
	// TruckPerKm is the truck's cost per kilometre besides fuel (tyres,
	// maintenance, wear); default 0.9.
	TruckPerKm float64 `json:"truck_eur_per_km"`
	// FuelPerL is the price of a litre of diesel; default 1.6.
	FuelPerL float64 `json:"fuel_eur_per_l"`
}

// DefaultCosts are the factors a run takes when none is given (civic
// simulate's flags' defaults).
func DefaultCosts() Costs {
	return Costs{FuelLPerKm: 0.35, CO2KgPerL: 2.68, CrewPerHour: 60, TruckPerKm: 0.9, FuelPerL: 1.6}
}

// withDefaults is c with DefaultCosts' factor in place of each that is
// not above 0.
func (c Costs) withDefaults() Costs {
	d := DefaultCosts()
	def := func(v *float64, d float64) {
		if !(*v > 0) {
			*v = d
		}
	}
	def(&c.FuelLPerKm, d.FuelLPerKm)
	def(&c.CO2KgPerL, d.CO2KgPerL)
	def(&c.CrewPerHour, d.CrewPerHour)
	def(&c.TruckPerKm, d.TruckPerKm)
	def(&c.FuelPerL, d.FuelPerL)
	return c
}

// Figures are what a policy did over a period (or in a zone).
type Figures struct {
	Visits int `json:"visits"` // bins emptied
	// LowVisits are visits to bins under half full.
	LowVisits int `json:"low_visits"`
	// FullVisits are visits to bins found full (overflowing).
	FullVisits int     `json:"full_visits"`
	Routes     int     `json:"routes"`    // truck trips: routes driven, depot to depot
	Disposals  int     `json:"disposals"` // trips to a facility to unload
	Km         float64 `json:"km"`
	Hours      float64 `json:"driver_hours"` // route hours, depot to depot
	// Overflows counts the times a bin became full; OverflowBinHours is
	// the time bins spent full (waste thrown at them ends on the street).
	Overflows        int     `json:"overflow_events"`
	OverflowBinHours float64 `json:"overflow_bin_hours"`
	OverflowedL      float64 `json:"overflowed_l"`
	CollectedL       float64 `json:"collected_l"`
	GeneratedL       float64 `json:"generated_l"`
	FuelL            float64 `json:"fuel_l"`
	CO2Kg            float64 `json:"co2_kg"`
	Cost             float64 `json:"cost_eur"`
}

func (f *Figures) add(g Figures) {
	f.Visits += g.Visits
	f.LowVisits += g.LowVisits
	f.FullVisits += g.FullVisits
	f.Routes += g.Routes
	f.Disposals += g.Disposals
	f.Km += g.Km
	f.Hours += g.Hours
	f.Overflows += g.Overflows
	f.OverflowBinHours += g.OverflowBinHours
	f.OverflowedL += g.OverflowedL
	f.CollectedL += g.CollectedL
	f.GeneratedL += g.GeneratedL
}

func (f *Figures) price(c Costs) {
	f.FuelL = f.Km * c.FuelLPerKm
	f.CO2Kg = f.FuelL * c.CO2KgPerL
	f.Cost = f.Hours*c.CrewPerHour + f.Km*c.TruckPerKm + f.FuelL*c.FuelPerL
}

// Week is a policy's figures over one ISO week (only its simulated days).
type Week struct {
	Week string `json:"week"` // "2026-W02"
	Days int    `json:"days"` // simulated days in the week: 7 but at the ends
	Figures
}

// ZoneFigures are a policy's figures in one zone. Route kilometres and
// hours are shared between the zones a route serves by its bin stops; a
// route counts in every zone it serves; disposal trips are not split.
type ZoneFigures struct {
	Zone string `json:"zone"`
	Figures
}

// Waste is a policy's waste account over the simulated days, in litres of
// bin capacity: InBinStart + Generated = Collected + InBinEnd + Overflowed.
type Waste struct {
	InBinStart float64 `json:"in_bins_start_l"`
	Generated  float64 `json:"generated_l"`
	Collected  float64 `json:"collected_l"`
	InBinEnd   float64 `json:"in_bins_end_l"`
	Overflowed float64 `json:"overflowed_l"`
}

// Imbalance is InBinStart + Generated - Collected - InBinEnd - Overflowed.
func (w Waste) Imbalance() float64 {
	return w.InBinStart + w.Generated - w.Collected - w.InBinEnd - w.Overflowed
}

// PolicyResult is one policy's run.
type PolicyResult struct {
	Policy string        `json:"policy"`
	Total  Figures       `json:"total"`
	Weeks  []Week        `json:"weeks"`
	Zones  []ZoneFigures `json:"zones"`
	Waste  Waste         `json:"waste"`
	// ExtraTrucks is the most trucks a day needed beyond the city's fleet
	// to keep a fixed schedule or a threshold round (the planner never
	// gets more than the fleet).
	ExtraTrucks int `json:"extra_trucks"`
	// Unserved counts bins a policy wanted emptied that no route took.
	Unserved int `json:"unserved"`
	// SilentSensors counts the sensors gone silent by the end (dead
	// batteries are not replaced), for the policies that read them.
	SilentSensors int `json:"silent_sensors,omitempty"`
	// PlanSeconds is the wall time spent deciding and routing.
	PlanSeconds float64 `json:"plan_s"`
	// GeneratedByBin is the waste thrown at each bin over the run, in the
	// city's bin order: the same for every policy (tests compare it).
	GeneratedByBin []float64 `json:"-"`
	// Explain is set when Options.Explain asked for it.
	Explain *Explanation `json:"explain,omitempty"`
}

func (r *PolicyResult) finish(c Costs) {
	r.Total.price(c)
	for i := range r.Weeks {
		r.Weeks[i].price(c)
	}
	for i := range r.Zones {
		r.Zones[i].price(c)
	}
}

// Zone names a zone of the city.
type Zone struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Result is a what-if run: every policy's figures and the assumptions.
type Result struct {
	Bins int    `json:"bins"`
	Days int    `json:"days"`
	Seed uint64 `json:"seed"`
	// Own is set when the city is the caller's (Options.CityNote), not
	// a generated one.
	Own         bool           `json:"own_city,omitempty"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Threshold   float64        `json:"threshold"`
	PlanTime    time.Duration  `json:"plan_time_ns"`
	Costs       Costs          `json:"costs"`
	Zones       []Zone         `json:"zones"`
	Policies    []PolicyResult `json:"policies"`
	Assumptions []string       `json:"assumptions"`
	Elapsed     time.Duration  `json:"elapsed_ns"`
	Summary     string         `json:"summary"`
}

// Policy returns the named policy's result, or nil.
func (r *Result) Policy(name string) *PolicyResult {
	for i := range r.Policies {
		if r.Policies[i].Policy == name {
			return &r.Policies[i]
		}
	}
	return nil
}

// summary is the run's last line:
//
//	sim: collections -X% km -Y% vs daily; overflow bin-hours A (planner) vs B (daily) vs C (threshold)
//
// The changes are signed (+X% when the planner does more); figures of a
// policy not run read "n/a".
func (r *Result) summary() string {
	pl, daily, thr := r.Policy(PolicyPlanner), r.Policy(PolicyDaily), r.Policy(PolicyThreshold)
	change := func(a, b float64) string {
		if b == 0 || math.IsNaN(a) {
			return "n/a"
		}
		return fmt.Sprintf("%+.0f%%", 100*(a-b)/b)
	}
	coll, km := "n/a", "n/a"
	if pl != nil && daily != nil {
		coll = change(float64(pl.Total.Visits), float64(daily.Total.Visits))
		km = change(pl.Total.Km, daily.Total.Km)
	}
	bh := func(p *PolicyResult) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.0f", p.Total.OverflowBinHours)
	}
	return fmt.Sprintf("sim: collections %s km %s vs daily; overflow bin-hours %s (planner) vs %s (daily) vs %s (threshold)",
		coll, km, bh(pl), bh(daily), bh(thr))
}

// SimulationRun is r as the web app keeps it: the summary line, the
// result as JSON and the HTML report.
func (r *Result) SimulationRun(id, name string) (civic.SimulationRun, error) {
	if name == "" {
		city := "generated"
		if r.Own {
			city = "the city's own"
		}
		name = fmt.Sprintf("%d bins (%s), %d days, seed %d (%s to %s)", r.Bins, city, r.Days, r.Seed, r.From, r.To)
	}
	result, err := json.Marshal(r)
	if err != nil {
		return civic.SimulationRun{}, err
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		return civic.SimulationRun{}, err
	}
	run := civic.SimulationRun{ID: id, Name: name, Summary: r.Summary, Result: result, Report: page.Bytes()}
	return run, run.Validate()
}
