package web

import (
	"net/http"
	"strconv"

	"github.com/civic-city/civic/internal/civic"
)

// Stored what-if simulations (`civic simulate --save`): a list, each run's
// self-contained HTML report and its result as JSON.
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
	u.render(w, r, http.StatusOK, "simulations", "", pageData{Title: "Simulations", Active: "/simulations", Principal: p, Data: runs})
}

// simulationPage is a run in civic's layout, its report framed.
func (u *UI) simulationPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.simulationsEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	run, err := u.deps.Simulations.Simulation(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "simulation", "", pageData{Title: run.Name, Active: "/simulations", Principal: p, Data: run})
}

// simulationReport serves a run's stored HTML report as it is, under
// reportCSP.
func (u *UI) simulationReport(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	if err := u.simulationsEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	run, err := u.deps.Simulations.Simulation(r.Context(), r.PathValue("id"))
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
	if err := u.simulationsEnabled(); err != nil {
		u.dataError(w, r, err)
		return
	}
	run, err := u.deps.Simulations.Simulation(r.Context(), r.PathValue("id"))
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
