package server

import (
	"context"
	"net/http"
	"slices"

	"github.com/civic-city/civic/internal/civic"
)

// Crew members (civic.Principal.CrewOnly) see and report their own crews'
// routes only: a plan they read shows their routes and no other, another
// crew's route or stop photo is Forbidden. Everyone else who may read sees
// everything.

// crewScope returns the crews p is limited to, and whether p is limited.
func (s *Server) crewScope(ctx context.Context, p civic.Principal) (mine []string, limited bool, err error) {
	if !p.CrewOnly() {
		return nil, false, nil
	}
	mine, err = s.crewsOf(ctx, p)
	return mine, true, err
}

// scopePlanData limits v, planning data read by the caller of r, to what
// the caller may see.
func (s *Server) scopePlanData(r *http.Request, v any) (any, error) {
	mine, limited, err := s.crewScope(r.Context(), principal(r))
	if err != nil || !limited {
		return v, err
	}
	own := func(rt civic.Route) bool { return rt.CrewID != "" && slices.Contains(mine, rt.CrewID) }
	switch x := v.(type) {
	case civic.Route:
		if !own(x) {
			return nil, civic.Errorf(civic.Forbidden, "route %s belongs to another crew", x.ID)
		}
	case civic.Plan:
		x.Routes = slices.DeleteFunc(slices.Clone(x.Routes), func(rt civic.Route) bool { return !own(rt) })
		x.Decisions, x.Unplanned = nil, nil
		return x, nil
	case []civic.Plan:
		out := make([]civic.Plan, len(x))
		for i, pl := range x {
			v, _ := s.scopePlanData(r, pl)
			out[i] = v.(civic.Plan)
		}
		return out, nil
	}
	return v, nil
}
