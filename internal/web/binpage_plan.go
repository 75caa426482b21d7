package web

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// binPlanView is where a bin stands in the plan for the city's today, as
// its page says it: the route, stop and time, or why it is not in it.
type binPlanView struct {
	PlanID   string
	RouteID  string // "" when no route visits the bin
	RouteSeq int
	Truck    string
	Stop     int // the bin's place among the route's bin stops, from 1
	Stops    int
	ETA      string
	Done     string // "collected 09:52", "skipped (blocked) 10:04"; "" before
	// Reason is the plan's reason for its decision on the bin; Unplanned
	// marks a must-go bin no truck could take.
	Reason    string
	Unplanned bool
}

// binPlan finds bin id in the plan for the city's today; nil without a
// plan store, or a plan for today, or when the plan has no word on the
// bin (made before it was registered).
func (u *UI) binPlan(ctx context.Context, id string) *binPlanView {
	if u.deps.Plans == nil {
		return nil
	}
	pl, err := u.deps.Plans.PlanForDate(ctx, u.now().In(u.cfg.Location).Format(time.DateOnly))
	if err != nil {
		if !civic.IsKind(err, civic.NotFound) {
			u.log.ErrorContext(ctx, "bin page: today's plan", "bin", id, "err", err)
		}
		return nil
	}
	v := &binPlanView{PlanID: pl.ID}
	found := false
	for _, d := range pl.Decisions {
		if d.BinID == id {
			v.Reason, found = d.Reason, true
		}
	}
	for _, d := range pl.Unplanned {
		if d.BinID == id {
			v.Reason, v.Unplanned, found = d.Reason, true, true
		}
	}
	for _, rt := range pl.Routes {
		n := 0
		for _, s := range rt.Stops {
			if s.Kind != civic.StopBin {
				continue
			}
			n++
			if s.BinID != id || v.RouteID != "" {
				continue
			}
			v.RouteID, v.RouteSeq, v.Stop, v.ETA, found = rt.ID, rt.Seq, n, u.clock(s.ETA), true
			v.Truck = rt.TruckID
			if s.DoneAt != nil {
				v.Done = strings.ReplaceAll(string(s.Status), "_", " ")
				if s.SkipReason != "" {
					v.Done += fmt.Sprintf(" (%s)", strings.ReplaceAll(string(s.SkipReason), "_", " "))
				}
				v.Done += " " + u.clock(*s.DoneAt)
			}
		}
		if v.RouteID == rt.ID {
			v.Stops = n
		}
	}
	if !found {
		return nil
	}
	if v.RouteID != "" {
		if t, err := u.deps.Store.Truck(ctx, v.Truck); err == nil {
			v.Truck = cmp.Or(t.Name, v.Truck)
		}
	}
	return v
}
