package open311_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/storetest"
)

func submission(code string, lat, long float64, attrs map[string][]string) civic.Submission {
	return civic.Submission{Request: civic.ServiceRequest{ServiceCode: code, Lat: &lat, Long: &long, Description: "a problem"},
		Attributes: attrs, Source: "ip:192.0.2.1", Author: "anonymous"}
}

var binAttrs = map[string][]string{"bin_kind": {"litter"}}

func TestWorkflow(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		ctx := context.Background()
		d := f.desk
		res, err := d.Submit(ctx, submission("overflowing-bin", 39.95, -75.16, binAttrs))
		if err != nil {
			t.Fatal(err)
		}
		r := res.Request
		if r.ID == "" || r.Status != civic.StatusSubmitted || r.Department != "sanitation" || r.ExpectedAt == nil ||
			!r.ExpectedAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("submitted %+v", r)
		}
		crew := civic.Principal{UserID: "u-crew", Name: "crew1", Role: civic.RoleCrew}
		if _, err := d.Act(ctx, crew, r.ID, civic.RequestAction{Action: "acknowledge"}); civic.KindOf(err) != civic.Forbidden {
			t.Errorf("a crew member acknowledged: %v", err)
		}
		if _, err := d.Act(ctx, civic.Anonymous, r.ID, civic.RequestAction{Action: "acknowledge"}); civic.KindOf(err) != civic.Unauthorized {
			t.Errorf("anonymous acknowledged: %v", err)
		}
		steps := []struct {
			a      civic.RequestAction
			status civic.RequestStatus
			field  string // want an Invalid error naming it
		}{
			{civic.RequestAction{Action: "start"}, civic.StatusInProgress, ""},
			{civic.RequestAction{Action: "acknowledge"}, "", "action"}, // backwards
			{civic.RequestAction{Action: "assign"}, "", "assigned_to"},
			{civic.RequestAction{Action: "assign", Department: "sanitation", AssignedTo: "crew:C1"}, civic.StatusInProgress, ""},
			{civic.RequestAction{Action: "note", Text: "crew says the lid is jammed"}, civic.StatusInProgress, ""},
			{civic.RequestAction{Action: "note"}, "", "text"},
			{civic.RequestAction{Action: "close"}, "", "reason"},
			{civic.RequestAction{Action: "close", Reason: "bored"}, "", "reason"},
			{civic.RequestAction{Action: "close", Reason: civic.CloseFixed, Text: "Emptied and cleaned."}, civic.StatusClosed, ""},
			{civic.RequestAction{Action: "start"}, "", "action"},
			{civic.RequestAction{Action: "reopen"}, civic.StatusAcknowledged, ""},
			{civic.RequestAction{Action: "fly"}, "", "action"},
		}
		for i, s := range steps {
			f.clock.Advance(time.Minute)
			got, err := d.Act(ctx, f.supervis, r.ID, s.a)
			if s.field != "" {
				if civic.KindOf(err) != civic.Invalid || civic.FieldOf(err) != s.field {
					t.Errorf("step %d %+v: %v, want Invalid %s", i, s.a, err, s.field)
				}
				continue
			}
			if err != nil || got.Status != s.status {
				t.Fatalf("step %d %+v: status %s, %v; want %s", i, s.a, got.Status, err, s.status)
			}
		}
		got, _ := d.Request(ctx, r.ID)
		if got.AssignedTo != "crew:C1" || got.CloseReason != "" || got.ClosedAt != nil || got.StatusNotes != "Reopened." {
			t.Errorf("after reopen %+v", got)
		}
		pub, _ := d.Notes(ctx, r.ID, true)
		all, _ := d.Notes(ctx, r.ID, false)
		for _, n := range pub {
			if strings.Contains(n.Text, "jammed") || strings.Contains(n.Text, "crew:C1") {
				t.Errorf("internal detail in a public note: %+v", n)
			}
		}
		if len(all) <= len(pub) {
			t.Errorf("no internal notes: %d all, %d public", len(all), len(pub))
		}
		var changes []string
		for _, n := range f.changes {
			changes = append(changes, string(n.Status))
		}
		if strings.Join(changes, ",") != "in_progress,closed,acknowledged" {
			t.Errorf("OnChange saw %v", changes)
		}

		// Duplicates: same service within 50 m is offered, not stored;
		// forcing stores it; staff merge it.
		f.clock.Advance(time.Hour)
		res2, err := d.Submit(ctx, submission("overflowing-bin", 39.9502, -75.16, binAttrs))
		if err != nil || res2.Request.ID != "" || len(res2.Duplicates) != 1 || res2.Duplicates[0].ID != r.ID {
			t.Fatalf("duplicate submission: %+v, %v", res2, err)
		}
		far, err := d.Submit(ctx, submission("overflowing-bin", 39.96, -75.16, binAttrs))
		if err != nil || far.Request.ID == "" || len(far.Duplicates) != 0 {
			t.Fatalf("a report 1 km away: %+v, %v", far, err)
		}
		other, err := d.Submit(ctx, submission("litter", 39.9502, -75.16, nil))
		if err != nil || other.Request.ID == "" {
			t.Fatalf("another service at the same spot: %+v, %v", other, err)
		}
		sub := submission("overflowing-bin", 39.9502, -75.16, binAttrs)
		sub.Force = true
		res3, err := d.Submit(ctx, sub)
		if err != nil || res3.Request.ID == "" || !strings.Contains(res3.Notice, r.ID) {
			t.Fatalf("forced duplicate: %+v, %v", res3, err)
		}
		merged, err := d.Act(ctx, f.supervis, res3.Request.ID, civic.RequestAction{Action: "merge", Into: r.ID})
		if err != nil || merged.Status != civic.StatusClosed || merged.CloseReason != civic.CloseDuplicate || merged.DuplicateOf != r.ID {
			t.Fatalf("merge: %+v, %v", merged, err)
		}
		if _, err := d.Act(ctx, f.supervis, far.Request.ID, civic.RequestAction{Action: "merge", Into: res3.Request.ID}); civic.FieldOf(err) != "into" {
			t.Errorf("merge into a merged request: %v", err)
		}

		// Moderation: spam is held, hide needs a reason, approve shows it.
		spam := submission("litter", 40.0, -75.0, nil)
		spam.Request.Description = "Cheap casino bonus at https://spam.example and http://more.example"
		held, err := d.Submit(ctx, spam)
		if err != nil || held.Request.Moderation != civic.ModHeld || !strings.Contains(held.Notice, "moderator") {
			t.Fatalf("spam: %+v, %v", held.Request, err)
		}
		list, _ := d.Requests(ctx, civic.ServiceRequestFilter{PublicOnly: true})
		for _, x := range list {
			if x.ID == held.Request.ID {
				t.Errorf("held request listed publicly")
			}
		}
		if _, err := d.Act(ctx, f.supervis, far.Request.ID, civic.RequestAction{Action: "hide"}); civic.FieldOf(err) != "text" {
			t.Errorf("hide without a reason: %v", err)
		}
		hid, err := d.Act(ctx, f.supervis, far.Request.ID, civic.RequestAction{Action: "hide", Text: "abusive language"})
		if err != nil || hid.Moderation != civic.ModHidden || hid.ModerationReason != "abusive language" {
			t.Errorf("hide: %+v, %v", hid, err)
		}
		ok, err := d.Act(ctx, f.supervis, held.Request.ID, civic.RequestAction{Action: "approve"})
		if err != nil || !ok.Public() {
			t.Errorf("approve: %+v, %v", ok, err)
		}
	})
}

func TestBinLinkAndLimits(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	sub := submission("overflowing-bin", 39.95, -75.16, binAttrs)
	sub.Request.ObjectType, sub.Request.ObjectID = "bin", "B-0001"
	res, err := f.desk.Submit(ctx, sub)
	if err != nil || res.Request.ID == "" {
		t.Fatal(res, err)
	}
	dmg := submission("damaged-bin", 39.951, -75.16, map[string][]string{"bin_kind": {"litter"}, "damage": {"lid"}})
	dmg.Request.ObjectType, dmg.Request.ObjectID = "bin", "B-0001"
	if _, err := f.desk.Submit(ctx, dmg); err != nil {
		t.Fatal(err)
	}
	bins, err := f.desk.OpenBinRequests(ctx)
	if err != nil || len(bins) != 1 || bins[0].BinID != "B-0001" || bins[0].RequestID != res.Request.ID {
		t.Fatalf("OpenBinRequests = %+v, %v (only waste-linked services count)", bins, err)
	}
	n, err := f.desk.BinCollected(ctx, "B-0002")
	if err != nil || n != 0 {
		t.Errorf("another bin's collection closed %d: %v", n, err)
	}
	n, err = f.desk.BinCollected(ctx, "B-0001")
	if err != nil || n != 1 {
		t.Fatalf("BinCollected = %d, %v", n, err)
	}
	got, _ := f.desk.Request(ctx, res.Request.ID)
	if got.Status != civic.StatusClosed || got.CloseReason != civic.CloseFixed || !strings.Contains(got.StatusNotes, "emptied") {
		t.Errorf("after collection %+v", got)
	}
	if bins, _ := f.desk.OpenBinRequests(ctx); len(bins) != 0 {
		t.Errorf("still open: %+v", bins)
	}

	// Anonymous sources are limited; keys have their own budget.
	d := open311.NewDesk(open311.Options{Store: f.store, Now: f.clock.Now, AnonymousRate: rate.Every(time.Minute), AnonymousBurst: 2})
	for i := range 3 {
		s := submission("litter", 10+float64(i), 10, nil)
		_, err := d.Submit(ctx, s)
		if i < 2 && err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		if i == 2 && civic.KindOf(err) != civic.Unavailable {
			t.Errorf("third anonymous submission in a minute: %v, want Unavailable", err)
		}
	}
	s := submission("litter", 20, 10, nil)
	s.Source = "ip:198.51.100.7"
	if _, err := d.Submit(ctx, s); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := d.Submit(ctx, submission("litter", 30, 10, nil)); err != nil {
		t.Errorf("after a minute: %v", err)
	}
}
