package web

import (
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
	Runs        []simulationView
	CanRun      bool
	Days        []int // the form's choices of days
	HistoryDays int   // the form's default days of readings
}

// simulationView is a run as the pages show it.
type simulationView struct {
	civic.SimulationRun
	Interrupted bool // running, but silent too long: its server stopped
	Percent     int  // progress, 0..100
}

func (u *UI) viewSimulation(r civic.SimulationRun) simulationView {
	return simulationView{SimulationRun: r, Interrupted: civic.SimulationInterruptedBy(u.deps.Simulator, &r, u.now()),
		Percent: int(r.Progress * 100)}
}

// simulationDays are the lengths the form offers, a month to a year.
var simulationDays = []int{30, 90, 182, 365}

func (u *UI) simulationsPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.simulationsEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	runs, err := u.deps.Simulations.ListSimulations(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := simulationsView{CanRun: u.deps.Simulator != nil, Days: simulationDays, HistoryDays: civic.DefaultSimulationHistoryDays}
	for _, run := range runs {
		v.Runs = append(v.Runs, u.viewSimulation(run))
	}
	u.render(w, r, http.StatusOK, "simulations", "", pageData{Title: "Simulations", Active: "/simulations", Principal: p, Data: v})
}

// simulationRequest reads the simulations page's form (days,
// history_days, name). Errors: Invalid naming the field.
func simulationRequest(form url.Values, by string) (civic.SimulationRequest, error) {
	req := civic.SimulationRequest{Name: strings.TrimSpace(form.Get("name")), By: by}
	var err error
	if req.Days, err = strconv.Atoi(strings.TrimSpace(form.Get("days"))); err != nil {
		return req, civic.FieldError("days", "Pick how many days to simulate.")
	}
	if req.HistoryDays, err = strconv.Atoi(strings.TrimSpace(form.Get("history_days"))); err != nil {
		return req, civic.FieldError("history_days", "Say how many days of readings to learn from, 1 to 90.")
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
	if err != nil {
		u.fail(w, r, err)
		return
	}
	run, err := u.deps.Simulator.StartSimulation(r.Context(), req)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "simulation.start", "simulation/"+run.ID, run.Name)
	http.Redirect(w, r, "/simulations/"+url.PathEscape(run.ID), http.StatusSeeOther)
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
