package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func testService() civic.Service {
	return civic.Service{Code: "overflowing-bin", Name: "Overflowing bin", Group: "sanitation", Department: "sanitation",
		Keywords: []string{"bin", "trash"}, SLAHours: 24, WasteLink: true, Active: true,
		Attributes: []civic.ServiceAttribute{
			{Code: "where", Variable: true, Datatype: civic.AttrSingle, Required: true, Order: 1, Description: "Where",
				Values: []civic.AttributeValue{{Key: "street", Name: "Street"}, {Key: "park", Name: "Park"}}},
			{Code: "note", Variable: false, Datatype: civic.AttrString, Order: 2, Description: "Thanks"},
		}}
}

func TestServiceRequestStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		sv := testService()
		must(t, "CreateService", s.CreateService(ctx, &sv))
		wantKind(t, "CreateService twice", s.CreateService(ctx, &sv), civic.Conflict)
		bad := sv
		bad.Code = "x y"
		wantKind(t, "CreateService bad code", s.CreateService(ctx, &bad), civic.Invalid, "code")
		inactive := civic.Service{Code: "old", Name: "Old", Attributes: []civic.ServiceAttribute{}}
		must(t, "CreateService inactive", s.CreateService(ctx, &inactive))

		got, err := s.Service(ctx, sv.Code)
		must(t, "Service", err)
		if !reflect.DeepEqual(got.Attributes, sv.Attributes) || !reflect.DeepEqual(got.Keywords, sv.Keywords) ||
			!got.WasteLink || !got.Active || got.SLAHours != 24 {
			t.Errorf("Service() = %+v, want %+v", got, sv)
		}
		_, err = s.Service(ctx, "nope")
		wantKind(t, "Service missing", err, civic.NotFound)
		active, err := s.ListServices(ctx, false)
		must(t, "ListServices", err)
		all, err := s.ListServices(ctx, true)
		must(t, "ListServices all", err)
		if len(active) != 1 || len(all) != 2 {
			t.Errorf("ListServices = %d active, %d all; want 1, 2", len(active), len(all))
		}
		sv.Name = "Bin overflowing"
		must(t, "UpdateService", s.UpdateService(ctx, &sv))
		if got, _ := s.Service(ctx, sv.Code); got.Name != "Bin overflowing" {
			t.Errorf("after UpdateService name = %q", got.Name)
		}

		lat, lon := 39.95, -75.16
		due := clk.Now().Add(24 * time.Hour)
		r := civic.ServiceRequest{Token: "tok-1", ServiceCode: sv.Code, Status: civic.StatusSubmitted, Description: "full",
			Lat: &lat, Long: &lon, Attributes: map[string][]string{"where": {"street"}}, ObjectType: "bin", ObjectID: "B-1",
			Contact: civic.Contact{Email: "ann@example.org"}, Channel: "open311", ExpectedAt: &due}
		first := civic.RequestNote{Author: "ann", Type: "submitted", Status: civic.StatusSubmitted, Public: true, Text: "Reported"}
		media := []civic.RequestMedia{{ContentType: "image/png", Data: []byte("\x89PNG...")}}
		must(t, "CreateServiceRequest", s.CreateServiceRequest(ctx, &r, &first, media))
		if r.ID == "" || r.ServiceName != "Bin overflowing" || r.MediaCount != 1 || media[0].ID == 0 {
			t.Fatalf("created request %+v media %+v", r, media)
		}
		r2 := civic.ServiceRequest{Token: "tok-2", ServiceCode: "nope", Status: civic.StatusSubmitted, Address: "1 Main St"}
		wantKind(t, "unknown service", s.CreateServiceRequest(ctx, &r2, nil, nil), civic.Invalid, "service_code")
		r2.ServiceCode = sv.Code
		r2.Token = "tok-1"
		wantKind(t, "token twice", s.CreateServiceRequest(ctx, &r2, nil, nil), civic.Conflict)
		clk.Advance(time.Hour)
		r2.Token = "tok-2"
		r2.Moderation = civic.ModHeld
		r2.RequestedAt, r2.UpdatedAt = time.Time{}, time.Time{} // set by the failed attempts
		must(t, "CreateServiceRequest 2", s.CreateServiceRequest(ctx, &r2, nil, nil))

		back, err := s.ServiceRequest(ctx, r.ID)
		must(t, "ServiceRequest", err)
		if back.Contact.Email != "ann@example.org" || *back.Lat != lat || back.Attributes["where"][0] != "street" ||
			back.ExpectedAt == nil || !back.ExpectedAt.Equal(due) || back.ObjectID != "B-1" {
			t.Errorf("ServiceRequest() = %+v", back)
		}
		if byTok, err := s.ServiceRequestByToken(ctx, "tok-1"); err != nil || byTok.ID != r.ID {
			t.Errorf("ServiceRequestByToken = %v, %v", byTok.ID, err)
		}
		_, err = s.ServiceRequest(ctx, "abc")
		wantKind(t, "ServiceRequest bad id", err, civic.NotFound)
		m, err := s.RequestMedia(ctx, r.ID, 1)
		must(t, "RequestMedia", err)
		if string(m.Data) != "\x89PNG..." || m.ContentType != "image/png" || m.ID != media[0].ID {
			t.Errorf("RequestMedia = %+v", m)
		}
		_, err = s.RequestMedia(ctx, r.ID, 2)
		wantKind(t, "RequestMedia 2", err, civic.NotFound)

		for _, c := range []struct {
			name string
			f    civic.ServiceRequestFilter
			want []string
		}{
			{"all newest first", civic.ServiceRequestFilter{}, []string{r2.ID, r.ID}},
			{"public", civic.ServiceRequestFilter{PublicOnly: true}, []string{r.ID}},
			{"ids", civic.ServiceRequestFilter{IDs: []string{r.ID, "zz"}}, []string{r.ID}},
			{"no valid ids", civic.ServiceRequestFilter{IDs: []string{"zz"}}, nil},
			{"object", civic.ServiceRequestFilter{ObjectType: "bin", ObjectID: "B-1"}, []string{r.ID}},
			{"requested window", civic.ServiceRequestFilter{RequestedFrom: clk.Now().Add(-30 * time.Minute)}, []string{r2.ID}},
			{"updated before", civic.ServiceRequestFilter{UpdatedBefore: clk.Now()}, []string{r.ID}},
			{"near", civic.ServiceRequestFilter{Near: true, Lat: lat + 0.0005, Long: lon, RadiusM: 100}, []string{r.ID}},
			{"far", civic.ServiceRequestFilter{Near: true, Lat: lat + 0.01, Long: lon, RadiusM: 100}, nil},
			{"overdue", civic.ServiceRequestFilter{OverdueAt: clk.Now().Add(48 * time.Hour)}, []string{r.ID}},
			{"limit offset", civic.ServiceRequestFilter{Limit: 1, Offset: 1}, []string{r.ID}},
			{"status", civic.ServiceRequestFilter{Statuses: []civic.RequestStatus{civic.StatusClosed}}, nil},
		} {
			got, err := s.ListServiceRequests(ctx, c.f)
			must(t, c.name, err)
			var ids []string
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Errorf("%s: ids = %v, want %v", c.name, ids, c.want)
			}
		}
		if n, err := s.CountServiceRequests(ctx, civic.ServiceRequestFilter{PublicOnly: true}); err != nil || n != 1 {
			t.Errorf("CountServiceRequests = %d, %v; want 1", n, err)
		}

		bins, err := s.OpenBinRequests(ctx)
		must(t, "OpenBinRequests", err)
		if len(bins) != 1 || bins[0].BinID != "B-1" || bins[0].RequestID != r.ID {
			t.Errorf("OpenBinRequests = %+v", bins)
		}

		stale := back
		clk.Advance(time.Minute)
		back.Status = civic.StatusClosed
		back.CloseReason = civic.CloseFixed
		closed := clk.Now()
		back.ClosedAt = &closed
		back.StatusNotes = "Emptied"
		note := civic.RequestNote{Author: "sup", Type: "closed", Status: civic.StatusClosed, Public: true, Text: "Emptied"}
		must(t, "UpdateServiceRequest", s.UpdateServiceRequest(ctx, &back, &note))
		stale.AssignedTo = "crew:C1"
		wantKind(t, "stale update", s.UpdateServiceRequest(ctx, &stale, nil), civic.Conflict)
		gone := back
		gone.ID = "999999"
		wantKind(t, "update missing", s.UpdateServiceRequest(ctx, &gone, nil), civic.NotFound)
		internal := civic.RequestNote{Author: "sup", Type: "note", Status: civic.StatusClosed, Public: false, Text: "crew said"}
		must(t, "internal note", s.UpdateServiceRequest(ctx, &back, &internal))
		notes, err := s.RequestNotes(ctx, r.ID, false)
		must(t, "RequestNotes", err)
		pub, err := s.RequestNotes(ctx, r.ID, true)
		must(t, "RequestNotes public", err)
		if len(notes) != 3 || len(pub) != 2 || pub[1].Text != "Emptied" || notes[2].Public {
			t.Errorf("notes = %+v, public %+v", notes, pub)
		}
		if bins, _ := s.OpenBinRequests(ctx); len(bins) != 0 {
			t.Errorf("closed request still in OpenBinRequests: %+v", bins)
		}
		batch := []civic.ServiceRequest{
			{Token: "imp-1", ServiceCode: sv.Code, Status: civic.StatusClosed, Address: "2 Main St", RequestedAt: clk.Now().Add(-48 * time.Hour)},
			{Token: "imp-2", ServiceCode: sv.Code, Status: civic.StatusSubmitted, Address: "3 Main St"},
		}
		must(t, "ImportServiceRequests", s.ImportServiceRequests(ctx, batch))
		if got, err := s.ServiceRequest(ctx, batch[0].ID); err != nil || got.Status != civic.StatusClosed || !got.RequestedAt.Equal(clk.Now().Add(-48*time.Hour)) {
			t.Errorf("imported = %+v, %v", got, err)
		}
		badBatch := []civic.ServiceRequest{{Token: "imp-3", ServiceCode: sv.Code, Status: civic.StatusSubmitted, Address: "x"},
			{Token: "imp-4", ServiceCode: "nope", Status: civic.StatusSubmitted, Address: "y"}}
		wantKind(t, "import unknown service", s.ImportServiceRequests(ctx, badBatch), civic.Invalid, "service_code")
		if _, err := s.ServiceRequestByToken(ctx, "imp-3"); !civic.IsKind(err, civic.NotFound) {
			t.Errorf("a failed import stored part of its batch: %v", err)
		}
		after, _ := s.ServiceRequest(ctx, r.ID)
		if after.Status != civic.StatusClosed || after.CloseReason != civic.CloseFixed || after.ClosedAt == nil ||
			after.StatusNotes != "Emptied" || !after.UpdatedAt.After(back.RequestedAt) {
			t.Errorf("after close = %+v", after)
		}
	})
}
