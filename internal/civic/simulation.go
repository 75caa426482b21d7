package civic

import (
	"context"
	"encoding/json"
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
	DeleteSimulation(ctx context.Context, id string) error
}
