package civic

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// SimulationRun is a what-if simulation kept for the web app: the
// simulator's result as JSON (every policy's figures by zone and week, and
// the assumptions) and its self-contained HTML report.
type SimulationRun struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	// Summary is the simulator's last line ("sim: collections -X% ...").
	Summary string          `json:"summary"`
	Result  json.RawMessage `json:"result,omitempty"`
	Report  []byte          `json:"-"`
	// Status is where a run started from the web app stands: running
	// (Progress tells how far, UpdatedAt when it last said so), done, or
	// failed (Error says why). A run saved whole, as civic simulate
	// --save does, is done; "" reads as done.
	Status    SimulationStatus `json:"status"`
	Progress  float64          `json:"progress"` // 0..1
	Error     string           `json:"error,omitempty"`
	UpdatedAt time.Time        `json:"updated_at"`
	// Assumptions are those the run was made under, every field set;
	// nil for runs stored before runs kept them.
	Assumptions *SimulationAssumptions `json:"assumptions,omitempty"`
}

// SimulationStatus is a run's state.
type SimulationStatus string

// The states of a run.
const (
	SimulationRunning SimulationStatus = "running"
	SimulationDone    SimulationStatus = "done"
	SimulationFailed  SimulationStatus = "failed"
)

// SimulationStaleAfter is how long a running simulation may go without
// reporting progress before it is taken for interrupted: a runner reports
// every few seconds, so this long a silence means the server that ran it
// stopped (a crash, a kill) without saying so.
const SimulationStaleAfter = 2 * time.Minute

// Interrupted reports whether r is running but has been silent for
// longer than SimulationStaleAfter at now.
func (r *SimulationRun) Interrupted(now time.Time) bool {
	return r.Status == SimulationRunning && now.Sub(r.UpdatedAt) > SimulationStaleAfter
}

// SimulationInterruptedBy reports whether r is running but silent for too
// long: by sim's clock when there is a simulator (the one the runs'
// progress is stamped with), else at now.
func SimulationInterruptedBy(sim Simulator, r *SimulationRun, now time.Time) bool {
	if sim != nil {
		return sim.SimulationInterrupted(r)
	}
	return r.Interrupted(now)
}

// DeleteEndedSimulation deletes run id from st unless it is under way
// (running and not interrupted, see SimulationInterruptedBy), and returns
// it. Errors: NotFound, Conflict.
func DeleteEndedSimulation(ctx context.Context, st SimulationStore, sim Simulator, id string, now time.Time) (SimulationRun, error) {
	run, err := st.Simulation(ctx, id)
	if err != nil {
		return run, err
	}
	if run.Status == SimulationRunning && !SimulationInterruptedBy(sim, &run, now) {
		return run, Errorf(Conflict, "Simulation %q is still running: delete it once it has ended.", run.Name)
	}
	return run, st.DeleteSimulation(ctx, run.ID)
}

// DefaultSimulationHistoryDays is how many days of readings a simulation
// of the city's own bins learns from when none is said.
const DefaultSimulationHistoryDays = 28

// SimulationRequest is what a person asks of a simulation of the city's
// own bins from the web app (civic simulate --data, run by the server).
type SimulationRequest struct {
	Name        string // "" names it after what it simulates
	Days        int    // days simulated, 7 to 365
	HistoryDays int    // days of readings the bins' fill rates are learnt from, 1 to 90
	// Assumptions change the run's; zero fields take the defaults.
	Assumptions SimulationAssumptions
	// Perfect also runs civic's planner told each bin's true fill and
	// exactly when it fills: the most better forecasts could save.
	Perfect bool
	By      string // who asked
}

// Validate checks r, naming the field at fault.
func (r *SimulationRequest) Validate() error {
	switch {
	case len(r.Name) > 200:
		return FieldError("name", "must be at most 200 characters")
	case strings.ContainsRune(r.Name, 0):
		return FieldError("name", "must not contain NUL characters")
	case r.Days < 7 || r.Days > 365:
		return FieldError("days", "must be between 7 and 365")
	case r.HistoryDays < 1 || r.HistoryDays > 90:
		return FieldError("history_days", "must be between 1 and 90")
	}
	return r.Assumptions.Validate()
}

// SimulationAssumptions are what a simulation assumes that a person may
// change, as civic simulate's flags of the same names do: the planner's
// overflow risk and longest time between collections, the threshold
// rule's fill, and the factors that turn kilometres and hours into fuel,
// CO2 and cost. In a request a zero field (nil, for the days between
// collections, where 0 turns the rule off) takes the default: the city's
// planner settings for the planner's (civic's: 0.1, 7 days, compost 3),
// civic's for the others (Simulator.SimulationDefaults says them all). A
// stored run has every field set.
type SimulationAssumptions struct {
	// OverflowRisk is the chance the planner accepts that a bin it
	// leaves fills up before its next chance, for every stream.
	OverflowRisk float64 `json:"overflow_risk,omitempty"`
	// HygieneDays is the planner's longest time between two collections
	// of a bin, in days, 0 for no limit; HygieneDaysCompost a compost
	// bin's.
	HygieneDays        *float64 `json:"hygiene_days,omitempty"`
	HygieneDaysCompost *float64 `json:"hygiene_days_compost,omitempty"`
	// Threshold is the fill from which the threshold rule empties a bin.
	Threshold float64 `json:"threshold,omitempty"`
	// FuelLPerKm is the diesel a truck burns a kilometre, in litres;
	// CO2KgPerL the CO2 a litre of it gives, in kg.
	FuelLPerKm float64 `json:"fuel_l_per_km,omitempty"`
	CO2KgPerL  float64 `json:"co2_kg_per_l,omitempty"`
	// CrewEURH is a crew's cost an hour of route, TruckEURKm a truck's a
	// kilometre besides fuel, FuelEURL a litre of diesel, in euros.
	CrewEURH   float64 `json:"crew_eur_h,omitempty"`
	TruckEURKm float64 `json:"truck_eur_km,omitempty"`
	FuelEURL   float64 `json:"fuel_eur_l,omitempty"`
}

// SimulationAssumptionRange returns the values SimulationAssumptions'
// field (named as in JSON) takes besides 0, which means the default, but
// for the days between collections, where 0 is in the range (no limit).
// ok is false for an unknown field.
func SimulationAssumptionRange(field string) (lo, hi float64, ok bool) {
	switch field {
	case "overflow_risk":
		return 0.01, 0.5, true
	case "hygiene_days", "hygiene_days_compost":
		return 0, 365, true
	case "threshold":
		return 0.01, 1, true
	case "fuel_l_per_km":
		return 0.01, 5, true
	case "co2_kg_per_l":
		return 0.1, 10, true
	case "crew_eur_h":
		return 1, 1000, true
	case "truck_eur_km", "fuel_eur_l":
		return 0.01, 100, true
	}
	return 0, 0, false
}

// Validate checks a, naming the field at fault: each in its range
// (SimulationAssumptionRange) or 0; not NaN nor infinite.
func (a *SimulationAssumptions) Validate() error {
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"overflow_risk", &a.OverflowRisk},
		{"hygiene_days", a.HygieneDays},
		{"hygiene_days_compost", a.HygieneDaysCompost},
		{"threshold", &a.Threshold},
		{"fuel_l_per_km", &a.FuelLPerKm},
		{"co2_kg_per_l", &a.CO2KgPerL},
		{"crew_eur_h", &a.CrewEURH},
		{"truck_eur_km", &a.TruckEURKm},
		{"fuel_eur_l", &a.FuelEURL},
	} {
		lo, hi, _ := SimulationAssumptionRange(f.name)
		switch {
		case f.v == nil || *f.v >= lo && *f.v <= hi:
		case lo == 0:
			return FieldError(f.name, "must be between 0 (no limit) and %g days", hi)
		case *f.v != 0:
			return FieldError(f.name, "must be between %g and %g, or 0 for the default", lo, hi)
		}
	}
	return nil
}

// MayRunSimulations refuses API keys that only read: starting a
// simulation uses a server for minutes and deleting one removes stored
// work, which reading the reports (PermReports, which analysts and read
// keys share) does not cover. People with PermReports and admin keys may.
func (p Principal) MayRunSimulations() error {
	if err := p.Require(PermReports); err != nil {
		return err
	}
	if p.KeyID != "" && !slices.Contains(p.Scopes, ScopeAdmin) {
		return Errorf(Forbidden, "%s is a read key: only people and admin keys start or delete simulations", p.Name)
	}
	return nil
}

// Simulator runs simulations of the city's own bins in the background.
type Simulator interface {
	// StartSimulation stores a running run and starts it; the run's
	// progress, then its result or error, are stored as it goes. Errors:
	// Invalid naming the field, Conflict when a simulation is already
	// running.
	StartSimulation(ctx context.Context, r SimulationRequest) (SimulationRun, error)
	// SimulationInterrupted reports whether r is running but silent for
	// too long (SimulationRun.Interrupted) by the clock the runs' progress
	// is stamped with, which may not be the pages' (the demo's runs
	// faster).
	SimulationInterrupted(r *SimulationRun) bool
	// SimulationDefaults returns what a run started now assumes when the
	// request says nothing (the city's planner settings, civic's other
	// defaults); OverflowRisk is 0 when the city's streams differ in
	// theirs, which one value would replace.
	SimulationDefaults(ctx context.Context) (SimulationAssumptions, error)
}

// Validate checks r.
func (r *SimulationRun) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 200 {
		return FieldError("name", "is required, at most 200 characters")
	}
	if len(r.Result) > 0 && !json.Valid(r.Result) {
		return FieldError("result", "must be JSON")
	}
	switch r.Status {
	case "", SimulationRunning, SimulationDone, SimulationFailed:
	default:
		return FieldError("status", "must be running, done or failed")
	}
	if !(r.Progress >= 0 && r.Progress <= 1) {
		return FieldError("progress", "must be between 0 and 1")
	}
	if r.Assumptions != nil {
		return r.Assumptions.Validate()
	}
	return nil
}

// SimulationStore keeps what-if simulation runs.
type SimulationStore interface {
	// SaveSimulation stores a run; Conflict if its id exists.
	SaveSimulation(ctx context.Context, r *SimulationRun) error
	// Simulation returns a run with its result and report.
	Simulation(ctx context.Context, id string) (SimulationRun, error)
	// ListSimulations returns the runs, newest first, without results
	// or reports.
	ListSimulations(ctx context.Context) ([]SimulationRun, error)
	// UpdateSimulation writes a running run's status, progress, error,
	// summary, result and report (UpdatedAt takes the store's clock).
	// Errors: NotFound, Conflict when the run is no longer running.
	UpdateSimulation(ctx context.Context, r *SimulationRun) error
	DeleteSimulation(ctx context.Context, id string) error
}
