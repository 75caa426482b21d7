package server

import (
	"context"
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// handleCreatePlan plans a service day as a draft: {"date":"YYYY-MM-DD"}.
// A draft for the date is replaced; a locked plan is a conflict.
func (s *Server) handleCreatePlan(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	pl, err := s.planService()
	if err != nil {
		return err
	}
	var body struct {
		Date string `json:"date"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := checkDate("date", body.Date); err != nil {
		return err
	}
	plan, err := pl.MakePlan(r.Context(), body.Date, actor(p), nil)
	if err != nil {
		return err
	}
	s.audit(r, "plan.create", "plan/"+plan.ID, body.Date)
	w.Header().Set("Location", "/api/v1/plans/"+plan.ID)
	writeJSON(w, http.StatusCreated, plan)
	return nil
}

// handleListPlans lists plans, newest date first, with their routes but
// not the routes' stops: ?from=&to= (dates, inclusive), status, limit.
func (s *Server) handleListPlans(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := civic.PlanFilter{From: q.Get("from"), To: q.Get("to"), Status: civic.PlanStatus(q.Get("status"))}
	for _, d := range []struct{ field, v string }{{"from", f.From}, {"to", f.To}} {
		if d.v != "" {
			if err := checkDate(d.field, d.v); err != nil {
				return err
			}
		}
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		return civic.FieldError("from", "must not be after to")
	}
	if f.Status != "" && !f.Status.Valid() {
		return civic.FieldError("status", "must be draft, locked, in_progress or done")
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1, 1000); err != nil {
		return err
	}
	plans, err := ps.ListPlans(r.Context(), f)
	if err != nil {
		return err
	}
	if plans == nil {
		plans = []civic.Plan{}
	}
	scoped, err := s.scopePlanData(r, plans)
	if err != nil {
		return err
	}
	plans = scoped.([]civic.Plan)
	for i := range plans {
		if plans[i].Routes == nil {
			plans[i].Routes = []civic.Route{}
		}
	}
	writeJSON(w, http.StatusOK, list[civic.Plan]{Items: plans})
	return nil
}

// handleGetPlan returns a plan with its routes and stops.
func (s *Server) handleGetPlan(w http.ResponseWriter, r *http.Request) error {
	return readPlans(s, w, r, func(ctx context.Context, ps civic.PlanStore) (civic.Plan, error) {
		return ps.Plan(ctx, r.PathValue("id"))
	})
}

// handlePlanForDate returns the plan of a service day, whatever its
// status, with its routes and stops.
func (s *Server) handlePlanForDate(w http.ResponseWriter, r *http.Request) error {
	return readPlans(s, w, r, func(ctx context.Context, ps civic.PlanStore) (civic.Plan, error) {
		date := r.PathValue("date")
		if err := checkDate("date", date); err != nil {
			return civic.Plan{}, err
		}
		return ps.PlanForDate(ctx, date)
	})
}

// readPlans answers a read of planning data: the caller may read, the
// server plans, and get's result is written as JSON.
func readPlans[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(context.Context, civic.PlanStore) (T, error)) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	v, err := get(r.Context(), ps)
	if err != nil {
		return err
	}
	scoped, err := s.scopePlanData(r, v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, scoped)
	return nil
}

// maxMoves bounds one edit of a plan.
const maxMoves = 1000

// handleMovePlan applies a supervisor's moves to a draft and answers with
// the re-optimised plan (the planner checks the moves against the plan): {"moves":[{"bin_id":"B1","to_route":"R"}]}, an
// empty to_route dropping the bin from the plan.
func (s *Server) handleMovePlan(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	pl, err := s.planService()
	if err != nil {
		return err
	}
	var body struct {
		Moves []civic.StopMove `json:"moves"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if len(body.Moves) == 0 {
		return civic.FieldError("moves", "must name at least one move")
	}
	if len(body.Moves) > maxMoves {
		return civic.FieldError("moves", "must be at most %d moves", maxMoves)
	}
	plan, err := pl.Reoptimise(r.Context(), r.PathValue("id"), body.Moves, actor(p))
	if err != nil {
		return err
	}
	s.audit(r, "plan.move", "plan/"+plan.ID, movesDetail(body.Moves))
	writeJSON(w, http.StatusOK, plan)
	return nil
}

func movesDetail(moves []civic.StopMove) string {
	var b []byte
	for i, m := range moves {
		if i > 0 {
			b = append(b, ", "...)
		}
		to := m.ToRoute
		if to == "" {
			to = "(dropped)"
		}
		b = append(b, m.BinID+" → "+to...)
		if len(b) > 500 {
			return string(b[:500]) + "…"
		}
	}
	return string(b)
}

// handleLockPlan hands a draft to the crews.
func (s *Server) handleLockPlan(w http.ResponseWriter, r *http.Request) error {
	return s.setPlanStatus(w, r, civic.PlanLocked, "plan.lock")
}

// handleUnlockPlan takes a locked plan back to a draft, to edit it.
func (s *Server) handleUnlockPlan(w http.ResponseWriter, r *http.Request) error {
	return s.setPlanStatus(w, r, civic.PlanDraft, "plan.unlock")
}

func (s *Server) setPlanStatus(w http.ResponseWriter, r *http.Request, to civic.PlanStatus, action string) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	pl, err := s.planService()
	if err != nil {
		return err
	}
	plan, err := pl.SetStatus(r.Context(), r.PathValue("id"), to, actor(p))
	if err != nil {
		return err
	}
	s.audit(r, action, "plan/"+plan.ID, "")
	writeJSON(w, http.StatusOK, plan)
	return nil
}

// handleGetRoute returns a route with its stops.
func (s *Server) handleGetRoute(w http.ResponseWriter, r *http.Request) error {
	return readPlans(s, w, r, func(ctx context.Context, ps civic.PlanStore) (civic.Route, error) {
		return ps.Route(ctx, r.PathValue("id"))
	})
}

// checkDate checks that v is a date YYYY-MM-DD.
func checkDate(field, v string) error {
	if v == "" {
		return civic.FieldError(field, "is required (a date YYYY-MM-DD)")
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return civic.FieldError(field, "must be a date YYYY-MM-DD")
	}
	return nil
}
