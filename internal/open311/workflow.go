package open311

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/civic-city/civic/internal/civic"
)

// The staff actions of civic.RequestAction.
const (
	ActAcknowledge = "acknowledge"
	ActAssign      = "assign"
	ActStart       = "start"
	ActClose       = "close"
	ActReopen      = "reopen"
	ActNote        = "note"
	ActMerge       = "merge"
	ActHide        = "hide"
	ActApprove     = "approve"
)

// maxNote caps a staff note.
const maxNote = 4000

// Act implements civic.ServiceDesk: the workflow moves forward
// submitted → acknowledged → assigned → in_progress → closed (steps may
// be skipped), close needs a reason, reopen brings a closed request back
// to acknowledged. Public notes become the request's status notes;
// internal notes stay with staff. A status change is passed to
// Options.OnChange once committed.
func (d *Desk) Act(ctx context.Context, p civic.Principal, id string, a civic.RequestAction) (civic.ServiceRequest, error) {
	if err := p.Require(civic.PermOperate); err != nil {
		return civic.ServiceRequest{}, err
	}
	a.Text = strings.TrimSpace(a.Text)
	if utf8.RuneCountInString(a.Text) > maxNote || !utf8.ValidString(a.Text) {
		return civic.ServiceRequest{}, civic.FieldError("text", "must be UTF-8 text of at most %d characters", maxNote)
	}
	r, err := d.o.Store.ServiceRequest(ctx, id)
	if err != nil {
		return r, err
	}
	now := d.o.Now().UTC()
	n := civic.RequestNote{Author: p.Name, Type: a.Action, Public: a.Public, Text: a.Text}
	was := r.Status
	forward := func(to civic.RequestStatus, text string) error {
		if !r.Status.Open() {
			return civic.FieldError("action", "request %s is closed; reopen it first", r.ID)
		}
		if r.Status.Rank() >= to.Rank() {
			return civic.FieldError("action", "request %s is already %s", r.ID, strings.ReplaceAll(string(r.Status), "_", " "))
		}
		r.Status = to
		n.Public = true
		if n.Text == "" {
			n.Text = text
		}
		return nil
	}
	switch a.Action {
	case ActAcknowledge:
		err = forward(civic.StatusAcknowledged, "The city has seen your report.")
	case ActStart:
		err = forward(civic.StatusInProgress, "Work on this has started.")
	case ActAssign:
		if strings.TrimSpace(a.Department) == "" && strings.TrimSpace(a.AssignedTo) == "" {
			return r, civic.FieldError("assigned_to", "give a department, a crew or a person")
		}
		if len(a.Department) > 100 || len(a.AssignedTo) > 100 {
			return r, civic.FieldError("assigned_to", "must be at most 100 characters")
		}
		if !r.Status.Open() {
			return r, civic.FieldError("action", "request %s is closed; reopen it first", r.ID)
		}
		if a.Department != "" {
			r.Department = strings.TrimSpace(a.Department)
		}
		r.AssignedTo = strings.TrimSpace(a.AssignedTo)
		if r.Status.Rank() < civic.StatusAssigned.Rank() {
			r.Status = civic.StatusAssigned
		}
		// Who does the work is internal; that someone does is public.
		detail := "Assigned to " + strings.Trim(r.Department+" / "+r.AssignedTo, " /") + "."
		if n.Text == "" {
			n.Text = detail
		} else {
			n.Text = detail + " " + n.Text
		}
		if was != r.Status {
			pub := civic.RequestNote{Author: p.Name, Type: "assigned", Status: r.Status, Public: true, Text: "Your report has been passed to the team that handles it."}
			return d.commit(ctx, &r, &pub, &n, was)
		}
	case ActClose:
		if !a.Reason.Valid() {
			return r, civic.FieldError("reason", "must be one of fixed, duplicate, not_city_responsibility, no_further_action")
		}
		if !r.Status.Open() {
			return r, civic.FieldError("action", "request %s is already closed", r.ID)
		}
		r.Status, r.CloseReason, r.ClosedAt = civic.StatusClosed, a.Reason, &now
		n.Public = true
		if n.Text == "" {
			n.Text = "Closed: " + a.Reason.Label() + "."
		}
	case ActReopen:
		if r.Status.Open() {
			return r, civic.FieldError("action", "request %s is not closed", r.ID)
		}
		r.Status, r.CloseReason, r.ClosedAt, r.DuplicateOf = civic.StatusAcknowledged, "", nil, ""
		n.Type, n.Public = "reopened", true
		if n.Text == "" {
			n.Text = "Reopened."
		}
	case ActNote:
		if n.Text == "" {
			return r, civic.FieldError("text", "is required")
		}
	case ActMerge:
		if a.Into == "" || a.Into == r.ID {
			return r, civic.FieldError("into", "name the request this one duplicates")
		}
		into, err := d.o.Store.ServiceRequest(ctx, a.Into)
		if civic.IsKind(err, civic.NotFound) {
			return r, civic.FieldError("into", "request %q does not exist", a.Into)
		}
		if err != nil {
			return r, err
		}
		if into.DuplicateOf != "" {
			return r, civic.FieldError("into", "request %s is itself merged into %s", into.ID, into.DuplicateOf)
		}
		if !r.Status.Open() {
			return r, civic.FieldError("action", "request %s is closed", r.ID)
		}
		r.Status, r.CloseReason, r.ClosedAt, r.DuplicateOf = civic.StatusClosed, civic.CloseDuplicate, &now, into.ID
		n.Type, n.Public = "merged", true
		n.Text = strings.TrimSpace(fmt.Sprintf("Same problem as request %s: follow it there. %s", into.ID, a.Text))
		if err := d.commitOne(ctx, &r, &n, was); err != nil {
			return r, err
		}
		back := civic.RequestNote{Author: p.Name, Type: "note", Status: into.Status, Text: "Request " + r.ID + " merged into this one."}
		defer d.gen.Add(1)
		if err := d.o.Store.UpdateServiceRequest(ctx, &into, &back); err != nil {
			d.o.Logger.WarnContext(ctx, "merge: note on the target failed", "request", into.ID, "err", err)
		}
		return r, nil
	case ActHide:
		if n.Text == "" {
			return r, civic.FieldError("text", "a reason is required to hide a report")
		}
		r.Moderation, r.ModerationReason = civic.ModHidden, n.Text
		n.Type, n.Public = "moderated", false
		n.Text = "Hidden: " + n.Text
	case ActApprove:
		if r.Moderation == civic.ModVisible {
			return r, civic.FieldError("action", "request %s is already public", r.ID)
		}
		r.Moderation, r.ModerationReason = civic.ModVisible, ""
		n.Type, n.Public = "moderated", false
		if n.Text == "" {
			n.Text = "Approved for publication."
		}
	default:
		return r, civic.FieldError("action", "must be one of acknowledge, assign, start, close, reopen, note, merge, hide, approve")
	}
	if err != nil {
		return r, err
	}
	return r, d.commitOne(ctx, &r, &n, was)
}

func (d *Desk) commitOne(ctx context.Context, r *civic.ServiceRequest, n *civic.RequestNote, was civic.RequestStatus) error {
	n.Status = r.Status
	if n.Public {
		r.StatusNotes = n.Text
	}
	err := d.o.Store.UpdateServiceRequest(ctx, r, n)
	d.gen.Add(1)
	if err != nil {
		return err
	}
	if r.Status != was && d.o.OnChange != nil {
		d.o.OnChange(ctx, *r, *n)
	}
	return nil
}

// commit writes a change with a public and an internal note.
func (d *Desk) commit(ctx context.Context, r *civic.ServiceRequest, pub, internal *civic.RequestNote, was civic.RequestStatus) (civic.ServiceRequest, error) {
	if err := d.commitOne(ctx, r, pub, was); err != nil {
		return *r, err
	}
	internal.Status, internal.Public = r.Status, false
	defer d.gen.Add(1)
	return *r, d.o.Store.UpdateServiceRequest(ctx, r, internal)
}

// BinCollected closes the open, waste-linked requests about a bin that a
// crew has just emptied, with a public note. It returns how many it
// closed.
func (d *Desk) BinCollected(ctx context.Context, binID string) (int, error) {
	reqs, err := d.o.Store.OpenBinRequests(ctx)
	if err != nil {
		return 0, err
	}
	closed := 0
	crew := civic.Principal{Name: "collection", UserID: "system", Role: civic.RoleSupervisor}
	for _, b := range reqs {
		if b.BinID != binID {
			continue
		}
		_, err := d.Act(ctx, crew, b.RequestID, civic.RequestAction{Action: ActClose, Reason: civic.CloseFixed,
			Text: "A collection crew emptied this bin.", Public: true})
		if err != nil && !civic.IsKind(err, civic.Conflict) {
			return closed, err
		}
		if err == nil {
			closed++
		}
	}
	return closed, nil
}

// OpenBinRequests lists open requests about bins for the planner.
func (d *Desk) OpenBinRequests(ctx context.Context) ([]civic.BinRequest, error) {
	return d.o.Store.OpenBinRequests(ctx)
}
