package plan

import (
	"context"

	"github.com/civic-city/civic/internal/civic"
)

// Route routes a service day whose decisions are already made, the way
// Plan routes Decide's: must-go bins become mandatory visits, may-go bins
// optional ones, the rest is left. The what-if simulator uses it to drive
// fixed schedules over the same matrix and solver as the planner, so that
// their kilometres compare. in's readings, forecasts, alerts and requests
// are not used. Errors are Plan's.
func Route(ctx context.Context, in PlanInput, decisions []civic.BinDecision, solve SolveFunc) (civic.Plan, error) {
	if in.Day.Start == "" {
		in.Day.Start = earliestShift(in.Trucks)
	}
	if err := in.Day.check(); err != nil {
		return civic.Plan{}, err
	}
	in.Forecasts = nil // no service windows: the decisions are the schedule's
	return run(ctx, in, decisions, nil, nil, solve)
}
