package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// What-if simulations: those stored by `civic simulate --save` and those
// started from the page's form (Deps.Simulator: the city's own bins, run
// in the background on the server); a list, each run's progress while it
// runs, then its self-contained HTML report and its result as JSON.
//
// A report is stored content, written by whoever ran the simulator, and
// served from civic's own origin. It is served as it was stored, alone, at
// /simulations/{id}/report, sandboxed by its Content-Security-Policy: a
// unique origin (so no cookies and no access to civic's pages), no
// scripts, no forms, nothing fetched; only its inline styles and data:
// images. /simulations/{id} is civic's page around it: the way back, the
// run's summary and downloads, and the report in a sandboxed frame.

// reportCSP is the policy a stored report is served with.
const reportCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

func (u *UI) simulationsEnabled() error {
	if u.deps.Simulations == nil {
		return civic.Errorf(civic.Unavailable, "Stored simulations are not enabled on this server.")
	}
	return nil
}

// simulationRun returns the run the request's path names. Errors:
// Unavailable (no store of runs), NotFound.
func (u *UI) simulationRun(r *http.Request) (civic.SimulationRun, error) {
	if err := u.simulationsEnabled(); err != nil {
		return civic.SimulationRun{}, err
	}
	return u.deps.Simulations.Simulation(r.Context(), r.PathValue("id"))
}

// simulationsView is the simulations page: the runs, and the form that
// starts one when the server can run them.
type simulationsView struct {
	Runs   []simulationView
	CanRun bool
	Form   simulationForm
}

// simulationView is a run as the pages show it.
type simulationView struct {
	civic.SimulationRun
	Interrupted bool // running, but silent too long: its server stopped
	Percent     int  // progress, 0..100
	// Assumed are the run's assumptions in words, by group; none for a
	// run stored before runs kept them.
	Assumed []assumedGroup
}

// assumedGroup is a group of a run's assumptions, each a label and its
// value in words.
type assumedGroup struct {
	Legend string
	Items  []struct{ Label, Value string }
}

func (u *UI) viewSimulation(r civic.SimulationRun) simulationView {
	v := simulationView{SimulationRun: r, Interrupted: civic.SimulationInterruptedBy(u.deps.Simulator, &r, u.now()),
		Percent: int(r.Progress * 100)}
	if r.Assumptions == nil {
		return v
	}
	for _, g := range simulationAssumptions {
		group := assumedGroup{Legend: g.legend}
		for _, a := range g.fields {
			if x := a.get(r.Assumptions); x != nil {
				group.Items = append(group.Items, struct{ Label, Value string }{a.Label, a.show(*x)})
			}
		}
		v.Assumed = append(v.Assumed, group)
	}
	return v
}

// simulationDays are the lengths the form offers, a month to a year.
var simulationDays = []int{30, 90, 182, 365}

// simulationForm is the form that starts a run, as shown: the defaults,
// or what was posted and why it was refused.
type simulationForm struct {
	Days        []dayChoice
	HistoryDays string
	Name        string
	Perfect     bool // the perfect-forecast policy too
	Assumptions []assumptionGroup
	// Error says why the post was refused; Field and FieldLabel name the
	// field at fault, Open when it is an assumption (shown open).
	Error, Field, FieldLabel string
	Open                     bool
}

// dayChoice is one of the form's lengths of a run.
type dayChoice struct {
	Days     int
	Selected bool
}

// assumptionGroup is a set of the form's assumptions under one legend.
type assumptionGroup struct {
	Legend string
	Fields []assumptionInput
}

// assumptionInput is an assumption as the form shows it.
type assumptionInput struct {
	assumption
	Value   string
	Invalid bool
}

// assumption is a field of civic.SimulationAssumptions as the pages show
// it.
type assumption struct {
	Name  string // the form's and the API's field
	Label string // what it is, in a person's words
	Unit  string // after the input: its unit and what its values mean
	// Blank is the placeholder when the form has no value to show (the
	// city's streams differ in theirs).
	Blank string
	show  func(v float64) string                        // the value, on a run's page
	get   func(a *civic.SimulationAssumptions) *float64 // nil: not set
	set   func(a *civic.SimulationAssumptions, v float64)
}

// simulationAssumptions are the assumptions a person may change, in the
// groups the form shows them in.
var simulationAssumptions = []struct {
	legend string
	fields []assumption
}{
	{"civic's planner", []assumption{
		{Name: "overflow_risk", Label: "Risk of overflowing the planner accepts", Unit: "0.1: a 10 % chance that a bin it leaves fills up first",
			Blank: "each stream's own", show: percent(""),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.OverflowRisk },
			set: func(a *civic.SimulationAssumptions, v float64) { a.OverflowRisk = v }},
		{Name: "hygiene_days", Label: "Longest wait between two collections of a bin", Unit: "days (0: no limit)", show: daysText,
			get: func(a *civic.SimulationAssumptions) *float64 { return a.HygieneDays },
			set: func(a *civic.SimulationAssumptions, v float64) { a.HygieneDays = &v }},
		{Name: "hygiene_days_compost", Label: "… of a compost bin", Unit: "days (0: no limit)", show: daysText,
			get: func(a *civic.SimulationAssumptions) *float64 { return a.HygieneDaysCompost },
			set: func(a *civic.SimulationAssumptions, v float64) { a.HygieneDaysCompost = &v }},
	}},
	{"The sensor threshold rule", []assumption{
		{Name: "threshold", Label: "Empties a bin whose sensor reads at least", Unit: "full (0.8: 80 %)", show: percent(" full"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.Threshold },
			set: func(a *civic.SimulationAssumptions, v float64) { a.Threshold = v }},
	}},
	{"Fuel, CO2 and costs", []assumption{
		{Name: "fuel_l_per_km", Label: "Diesel a truck burns", Unit: "litres per km", show: unit("", " L per km"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.FuelLPerKm },
			set: func(a *civic.SimulationAssumptions, v float64) { a.FuelLPerKm = v }},
		{Name: "co2_kg_per_l", Label: "CO2 from a litre of diesel", Unit: "kg per litre", show: unit("", " kg per litre"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.CO2KgPerL },
			set: func(a *civic.SimulationAssumptions, v float64) { a.CO2KgPerL = v }},
		{Name: "crew_eur_h", Label: "A crew's cost", Unit: "€ per hour of route", show: euros(" per hour"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.CrewEURH },
			set: func(a *civic.SimulationAssumptions, v float64) { a.CrewEURH = v }},
		{Name: "truck_eur_km", Label: "A truck's cost besides fuel", Unit: "€ per km", show: euros(" per km"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.TruckEURKm },
			set: func(a *civic.SimulationAssumptions, v float64) { a.TruckEURKm = v }},
		{Name: "fuel_eur_l", Label: "Price of diesel", Unit: "€ per litre", show: euros(" per litre"),
			get: func(a *civic.SimulationAssumptions) *float64 { return &a.FuelEURL },
			set: func(a *civic.SimulationAssumptions, v float64) { a.FuelEURL = v }},
	}},
}

// number is v as a form shows it: "0.35", "60".
func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func percent(suffix string) func(float64) string {
	return func(v float64) string { return number(math.Round(v*10000)/100) + " %" + suffix }
}

func unit(prefix, suffix string) func(float64) string {
	return func(v float64) string { return prefix + number(v) + suffix }
}

// euros says an amount of euros, its cents when it has some: "€60 per
// hour", "€0.90 per km".
func euros(suffix string) func(float64) string {
	return func(v float64) string {
		s := number(v)
		if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i == 2 {
			s += "0"
		}
		return "€" + s + suffix
	}
}

func daysText(v float64) string {
	switch v {
	case 0:
		return "no limit"
	case 1:
		return "1 day"
	}
	return number(v) + " days"
}

// newSimulationForm is the form showing a request's values (the
// defaults), the error it was refused with, if any, next to its field.
func newSimulationForm(days int, history, name string, perfect bool, values func(assumption) string, err error) simulationForm {
	f := simulationForm{HistoryDays: history, Name: name, Perfect: perfect}
	for _, d := range simulationDays {
		f.Days = append(f.Days, dayChoice{Days: d, Selected: d == days})
	}
	if err != nil {
		f.Error, f.Field = civic.MessageOf(err), civic.FieldOf(err)
	}
	for _, g := range simulationAssumptions {
		group := assumptionGroup{Legend: g.legend}
		for _, a := range g.fields {
			in := assumptionInput{assumption: a, Value: values(a), Invalid: a.Name == f.Field}
			if in.Invalid {
				f.FieldLabel, f.Open = a.Label, true
			}
			group.Fields = append(group.Fields, in)
		}
		f.Assumptions = append(f.Assumptions, group)
	}
	switch f.Field {
	case "days":
		f.FieldLabel = "Days to simulate"
	case "history_days":
		f.FieldLabel = "Days of readings to learn from"
	case "name":
		f.FieldLabel = "Name"
	}
	return f
}

// defaultSimulationForm is the form with the defaults: 90 days, the
// simulator's assumptions.
func (u *UI) defaultSimulationForm(r *http.Request) (simulationForm, error) {
	d, err := u.deps.Simulator.SimulationDefaults(r.Context())
	if err != nil {
		return simulationForm{}, err
	}
	return newSimulationForm(90, strconv.Itoa(civic.DefaultSimulationHistoryDays), "", false, func(a assumption) string {
		if v := a.get(&d); v != nil && (*v != 0 || a.Name == "hygiene_days" || a.Name == "hygiene_days_compost") {
			return number(*v)
		}
		return ""
	}, nil), nil
}

func (u *UI) simulationsPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	u.showSimulations(w, r, p, http.StatusOK, simulationForm{})
}

// showSimulations renders the page with form, or the defaults' when form
// is zero.
func (u *UI) showSimulations(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, form simulationForm) {
	if err := u.simulationsEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	runs, err := u.deps.Simulations.ListSimulations(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := simulationsView{CanRun: u.deps.Simulator != nil, Form: form}
	if v.CanRun && form.Days == nil {
		if v.Form, err = u.defaultSimulationForm(r); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, u.viewSimulation(run))
	}
	u.render(w, r, status, "simulations", "", pageData{Title: "Simulations", Active: "/simulations", Principal: p, Data: v})
}

// simulationRequest reads the simulations page's form (days,
// history_days, name, perfect (a checkbox), and the assumptions, each optional: blank takes
// the default; a decimal comma reads as a point). Errors: Invalid naming
// the field.
func simulationRequest(form url.Values, by string) (civic.SimulationRequest, error) {
	req := civic.SimulationRequest{Name: strings.TrimSpace(form.Get("name")), By: by, Perfect: form.Get("perfect") != ""}
	var err error
	if req.Days, err = strconv.Atoi(strings.TrimSpace(form.Get("days"))); err != nil {
		return req, civic.FieldError("days", "Pick how many days to simulate.")
	}
	if req.HistoryDays, err = strconv.Atoi(strings.TrimSpace(form.Get("history_days"))); err != nil {
		return req, civic.FieldError("history_days", "Say how many days of readings to learn from, 1 to 90.")
	}
	for _, g := range simulationAssumptions {
		for _, a := range g.fields {
			s := strings.TrimSpace(form.Get(a.Name))
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
			if err != nil {
				return req, civic.FieldError(a.Name, "must be a number, such as 0.5 (or blank for the default)")
			}
			a.set(&req.Assumptions, v)
		}
	}
	return req, req.Validate()
}

// startSimulation starts a simulation of the city's own bins from the
// form (days, history_days, name) and shows its page, where it runs.
func (u *UI) startSimulation(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := p.MayRunSimulations(); err != nil {
		u.fail(w, r, err)
		return
	}
	if u.deps.Simulator == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "This server does not run simulations: run civic simulate --data (or --db) --save instead."))
		return
	}
	if err := parseForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	req, err := simulationRequest(r.PostForm, who(p))
	if err == nil {
		var run civic.SimulationRun
		if run, err = u.deps.Simulator.StartSimulation(r.Context(), req); err == nil {
			u.audit(r, p, "simulation.start", "simulation/"+run.ID, run.Name)
			http.Redirect(w, r, "/simulations/"+url.PathEscape(run.ID), http.StatusSeeOther)
			return
		}
	}
	if k := civic.KindOf(err); k != civic.Invalid && k != civic.Conflict {
		u.fail(w, r, err)
		return
	}
	// Refused: the form again, as posted, saying why.
	days, _ := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("days")))
	u.showSimulations(w, r, p, httpStatusOf(err), newSimulationForm(days, r.PostForm.Get("history_days"), r.PostForm.Get("name"),
		r.PostForm.Get("perfect") != "", func(a assumption) string { return r.PostForm.Get(a.Name) }, err))
}

// simulationPage is a run in civic's layout, its report framed.
func (u *UI) simulationPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	run, err := u.simulationRun(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "simulation", "", pageData{Title: run.Name, Active: "/simulations", Principal: p, Data: u.viewSimulation(run)})
}

// deleteSimulation removes a run that is not running (done, failed or
// interrupted) and goes back to the list.
func (u *UI) deleteSimulation(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := p.MayRunSimulations(); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := u.simulationsEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	run, err := civic.DeleteEndedSimulation(r.Context(), u.deps.Simulations, u.deps.Simulator, r.PathValue("id"), u.now())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "simulation.delete", "simulation/"+run.ID, run.Name)
	http.Redirect(w, r, "/simulations", http.StatusSeeOther)
}

// simulationReport serves a run's stored HTML report as it is, under
// reportCSP.
func (u *UI) simulationReport(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	run, err := u.simulationRun(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if len(run.Report) == 0 {
		u.fail(w, r, civic.Errorf(civic.NotFound, "Simulation %q has no report.", run.ID))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", reportCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(run.Report)))
	w.WriteHeader(http.StatusOK)
	w.Write(run.Report)
}

// simulationResult serves a run's result JSON for download.
func (u *UI) simulationResult(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	run, err := u.simulationRun(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	body := []byte(run.Result)
	if len(body) == 0 {
		body = []byte("null")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="civic-simulation-`+exportSafe(run.ID)+`.json"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
