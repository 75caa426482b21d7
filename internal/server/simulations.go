package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// The what-if simulations, as the web app's Simulations page has them:
// the stored runs (civic simulate --save, and those started here or from
// the page) and simulations of the city's own bins run in the background.
// Reading them needs the reports; starting and deleting them, a person
// with the reports or an admin key (Principal.MayRunSimulations).

// simulationJSON is a run as the API answers it: Interrupted says a
// running run's server stopped without a word.
type simulationJSON struct {
	civic.SimulationRun
	Interrupted bool   `json:"interrupted"`
	ReportURL   string `json:"report_url,omitempty"` // the HTML report, once there is one
}

func (s *Server) simulationView(r civic.SimulationRun) simulationJSON {
	v := simulationJSON{SimulationRun: r, Interrupted: civic.SimulationInterruptedBy(s.simulator, &r, s.now())}
	if r.Status == civic.SimulationDone {
		v.ReportURL = "/simulations/" + url.PathEscape(r.ID) + "/report"
	}
	return v
}

func (s *Server) simulationStore() (civic.SimulationStore, error) {
	if s.simulations == nil {
		return nil, civic.Errorf(civic.Unavailable, "stored simulations are not enabled on this server")
	}
	return s.simulations, nil
}

// handleListSimulations lists the runs, newest first, without their
// results.
func (s *Server) handleListSimulations(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermReports); err != nil {
		return err
	}
	st, err := s.simulationStore()
	if err != nil {
		return err
	}
	runs, err := st.ListSimulations(r.Context())
	if err != nil {
		return err
	}
	items := make([]simulationJSON, 0, len(runs))
	for _, run := range runs {
		items = append(items, s.simulationView(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// handleGetSimulation answers a run with its result (every policy's
// figures by week and zone, and the assumptions) once done.
func (s *Server) handleGetSimulation(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermReports); err != nil {
		return err
	}
	st, err := s.simulationStore()
	if err != nil {
		return err
	}
	run, err := st.Simulation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.simulationView(run))
	return nil
}

// handleStartSimulation starts a simulation of the city's own bins:
// {"days": 7..365, "history_days": 1..90, "name": "...",
// "perfect_forecasts": true to run the perfect-forecast policy too, and the
// assumptions, each optional: "overflow_risk", "hygiene_days",
// "hygiene_days_compost", "threshold", "fuel_l_per_km", "co2_kg_per_l",
// "crew_eur_h", "truck_eur_km", "fuel_eur_l"}; 202 with the run, running,
// its assumptions filled in, and its Location to follow.
func (s *Server) handleStartSimulation(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.MayRunSimulations(); err != nil {
		return err
	}
	if s.simulator == nil {
		return civic.Errorf(civic.Unavailable, "this server does not run simulations: use civic simulate --data (or --db) --save")
	}
	var body struct {
		Name        string `json:"name"`
		Days        int    `json:"days"`
		HistoryDays int    `json:"history_days"`
		Perfect     bool   `json:"perfect_forecasts"`
		civic.SimulationAssumptions
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	req := civic.SimulationRequest{Name: strings.TrimSpace(body.Name), Days: body.Days, HistoryDays: body.HistoryDays, By: actor(p),
		Assumptions: body.SimulationAssumptions, Perfect: body.Perfect}
	if req.HistoryDays == 0 {
		req.HistoryDays = civic.DefaultSimulationHistoryDays
	}
	run, err := s.simulator.StartSimulation(r.Context(), req)
	if err != nil {
		return err
	}
	s.audit(r, "simulation.start", "simulation/"+run.ID, run.Name)
	w.Header().Set("Location", "/api/v1/simulations/"+url.PathEscape(run.ID))
	writeJSON(w, http.StatusAccepted, s.simulationView(run))
	return nil
}

// handleDeleteSimulation removes a run that is not under way.
func (s *Server) handleDeleteSimulation(w http.ResponseWriter, r *http.Request) error {
	if err := principal(r).MayRunSimulations(); err != nil {
		return err
	}
	st, err := s.simulationStore()
	if err != nil {
		return err
	}
	run, err := civic.DeleteEndedSimulation(r.Context(), st, s.simulator, r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	s.audit(r, "simulation.delete", "simulation/"+run.ID, run.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
