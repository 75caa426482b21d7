package open311

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// demoReports are what the demo's residents report, by service.
var demoReports = map[string][]string{
	"overflowing-bin":   {"Bin is full and bags are piled next to it.", "Overflowing since the weekend market.", "Seagulls are pulling rubbish out of the full bin."},
	"damaged-bin":       {"The lid is hanging off.", "Bin was knocked over by a car.", "Sensor box on the side is cracked."},
	"illegal-dumping":   {"Old sofa left on the pavement.", "Several bags of building rubble dumped by the path.", "Fridge dumped behind the bus stop."},
	"litter":            {"Lots of litter along the river path.", "Broken glass near the playground.", "Fast food wrappers all over the car park."},
	"missed-collection": {"Our street's bin was not emptied on Tuesday.", "Collection missed again this week."},
	"graffiti":          {"Tags sprayed on the library wall.", "Graffiti on the stop sign."},
	"pothole":           {"Deep pothole in the cycle lane.", "Pothole at the crossing, cars swerve around it."},
	"streetlight":       {"Light out at the corner, very dark at night.", "Streetlight flickering all evening."},
}

// SeedDemo gives a demo city some 311 requests near its bins: every
// service, every status, some overdue, some about a bin. It does nothing
// when requests exist. bins must not be empty.
func SeedDemo(ctx context.Context, d *Desk, bins []civic.Bin, now time.Time, seed uint64) error {
	st := d.o.Store
	if n, err := st.CountServiceRequests(ctx, civic.ServiceRequestFilter{}); err != nil || n > 0 || len(bins) == 0 {
		return err
	}
	svcs, err := st.ListServices(ctx, false)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 311))
	statuses := []civic.RequestStatus{civic.StatusSubmitted, civic.StatusSubmitted, civic.StatusAcknowledged,
		civic.StatusAssigned, civic.StatusInProgress, civic.StatusClosed, civic.StatusClosed}
	const count = 60
	for i := range count {
		svc := svcs[rng.IntN(len(svcs))]
		texts := demoReports[svc.Code]
		if len(texts) == 0 {
			texts = []string{"Please have a look."}
		}
		b := bins[rng.IntN(len(bins))]
		lat := b.Lat + (rng.Float64()-0.5)*0.0008
		long := b.Lon + (rng.Float64()-0.5)*0.0008
		at := now.Add(-time.Duration(rng.Float64() * float64(10*24*time.Hour))).Truncate(time.Second)
		r := civic.ServiceRequest{Token: newToken(), ServiceCode: svc.Code, Description: texts[rng.IntN(len(texts))],
			Lat: &lat, Long: &long, Address: b.Name, Channel: "web", RequestedAt: at, Department: svc.Department,
			Status: statuses[rng.IntN(len(statuses))], Attributes: demoAttributes(svc, rng)}
		if svc.BinLink {
			r.ObjectType, r.ObjectID = "bin", b.ID // a damaged bin: about it, never closed by a collection
		}
		if svc.WasteLink {
			r.ObjectType, r.ObjectID = "bin", b.ID
			// Requests about bins stay open only until the next
			// collection: most of those in the past are closed.
			if at.Before(now.Add(-36 * time.Hour)) {
				r.Status = civic.StatusClosed
			}
		}
		if svc.SLAHours > 0 {
			due := at.Add(time.Duration(svc.SLAHours * float64(time.Hour)))
			r.ExpectedAt = &due
		}
		if r.Status.Rank() >= civic.StatusAssigned.Rank() {
			r.AssignedTo = fmt.Sprintf("crew:C%d", 1+rng.IntN(3))
		}
		note := "The city has seen your report."
		switch r.Status {
		case civic.StatusAssigned:
			note = "Your report has been passed to the team that handles it."
		case civic.StatusInProgress:
			note = "Work on this has started."
		case civic.StatusClosed:
			closed := at.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
			if closed.After(now) {
				closed = now
			}
			r.ClosedAt, r.CloseReason = &closed, civic.CloseFixed
			note = "Closed: Fixed."
			if svc.WasteLink {
				note = "A collection crew emptied this bin."
			} else if rng.IntN(5) == 0 {
				r.CloseReason, note = civic.CloseNotResponsible, "Closed: Not the city's responsibility. We passed it to the property owner."
			}
		}
		first := civic.RequestNote{Author: "resident", Type: "submitted", Status: civic.StatusSubmitted, Public: true, Text: "Report received.", Time: at}
		if r.Status != civic.StatusSubmitted {
			r.StatusNotes = note
			r.UpdatedAt = at.Add(time.Hour)
			if r.ClosedAt != nil {
				r.UpdatedAt = *r.ClosedAt
			}
		}
		if err := st.CreateServiceRequest(ctx, &r, &first, nil); err != nil {
			return fmt.Errorf("demo request %d: %w", i, err)
		}
		if r.Status != civic.StatusSubmitted {
			n := civic.RequestNote{Author: "supervisor", Type: string(r.Status), Status: r.Status, Public: true, Text: note}
			if err := st.UpdateServiceRequest(ctx, &r, &n); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoAttributes fills a service's required attributes, and some others.
func demoAttributes(s civic.Service, rng *rand.Rand) map[string][]string {
	out := map[string][]string{}
	for _, a := range s.Attributes {
		if !a.Variable || (!a.Required && rng.IntN(2) == 0) {
			continue
		}
		switch a.Datatype {
		case civic.AttrSingle:
			out[a.Code] = []string{a.Values[rng.IntN(len(a.Values))].Key}
		case civic.AttrMulti:
			out[a.Code] = []string{a.Values[0].Key}
			if len(a.Values) > 1 && rng.IntN(2) == 0 {
				out[a.Code] = append(out[a.Code], a.Values[1].Key)
			}
		case civic.AttrNumber:
			out[a.Code] = []string{fmt.Sprint(1 + rng.IntN(20))}
		}
	}
	return out
}
