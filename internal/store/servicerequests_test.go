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
		inactive := civic.Service{Code: "old", Name: "Old", Attributes: []civic.ServiceAttribute{}, BinLink: true}
		must(t, "CreateService inactive", s.CreateService(ctx, &inactive))
		if got, err := s.Service(ctx, "old"); err != nil || !got.BinLink || got.WasteLink {
			t.Errorf("Service(old) = %+v, %v; want BinLink alone", got, err)
		}

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
		sv.Name, sv.BinLink = "Bin overflowing", true
		must(t, "UpdateService", s.UpdateService(ctx, &sv))
		if got, _ := s.Service(ctx, sv.Code); got.Name != "Bin overflowing" || !got.BinLink {
			t.Errorf("after UpdateService name = %q, bin link %v", got.Name, got.BinLink)
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

// TestServiceRequestZoneModeration: the zone and moderation filters are
// the store's, so a page and a count hold only matching requests. A
// request is in the zone of the bin it is about, else in the first zone
// (by id) containing its location.
func TestServiceRequestZoneModeration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		sv := testService()
		must(t, "CreateService", s.CreateService(ctx, &sv))
		// Z-a lies inside Z-north and sorts first: a location in both is Z-a's.
		must(t, "CreateZone", s.CreateZone(ctx, &civic.Zone{ID: "Z-north", Name: "North", Boundary: square(13, 52, 14, 53)}))
		must(t, "CreateZone Z-a", s.CreateZone(ctx, &civic.Zone{ID: "Z-a", Name: "A", Boundary: square(13.4, 52.4, 13.6, 52.6)}))
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-north", 52.9, 13.9)))
		must(t, "CreateBin unzoned", s.CreateBin(ctx, testBin("B-out", 48.1, 11.5)))
		ids := map[string]string{}
		add := func(name string, lat, lon float64, bin string, mod civic.Moderation) {
			r := civic.ServiceRequest{Token: "tok-" + name, ServiceCode: sv.Code, Status: civic.StatusSubmitted,
				Description: name, Lat: &lat, Long: &lon, Moderation: mod}
			if bin != "" {
				r.ObjectType, r.ObjectID = "bin", bin
			}
			must(t, "CreateServiceRequest "+name, s.CreateServiceRequest(ctx, &r, nil, nil))
			ids[name] = r.ID
			clk.Advance(time.Minute)
		}
		add("north-bin-in-a", 52.5, 13.5, "B-north", "")       // the bin's zone wins: Z-north
		add("in-a", 52.5, 13.5, "", "")                        // in both: Z-a, the first
		add("in-north", 52.1, 13.1, "", civic.ModHeld)         // Z-north only
		add("unzoned-bin-in-a", 52.45, 13.45, "B-out", "")     // the bin has no zone: by location, Z-a
		add("outside", 48.1, 11.5, "", civic.ModHidden)        // no zone
		add("north-bin-outside", 48.1, 11.5, "B-north", "")    // Z-north
		add("in-a-corner", 52.41, 13.59, "", civic.ModHeld)    // Z-a
		add("in-north-box", 52.99, 13.01, "", civic.ModHidden) // Z-north
		zones, err := s.ListZones(ctx)
		must(t, "ListZones", err)
		// Zones the caller gives are used, not read again: Z-given, which
		// only the given list has, has Z-a's boundary and so its
		// requests about no zoned bin.
		given := []civic.Zone{{ID: "Z-given", Boundary: square(13.4, 52.4, 13.6, 52.6)}, zones[1]}

		for _, c := range []struct {
			name string
			f    civic.ServiceRequestFilter
			want []string // newest first
		}{
			{"zone a", civic.ServiceRequestFilter{Zone: "Z-a"}, []string{"in-a-corner", "unzoned-bin-in-a", "in-a"}},
			{"zone a, zones given", civic.ServiceRequestFilter{Zone: "Z-a", Zones: zones}, []string{"in-a-corner", "unzoned-bin-in-a", "in-a"}},
			{"a zone only given", civic.ServiceRequestFilter{Zone: "Z-given", Zones: given, Limit: 2},
				[]string{"in-a-corner", "unzoned-bin-in-a"}},
			{"zone north, zones given", civic.ServiceRequestFilter{Zone: "Z-north", Zones: given},
				[]string{"in-north-box", "north-bin-outside", "in-north", "north-bin-in-a"}},
			{"zone north", civic.ServiceRequestFilter{Zone: "Z-north"},
				[]string{"in-north-box", "north-bin-outside", "in-north", "north-bin-in-a"}},
			{"zone north, a page", civic.ServiceRequestFilter{Zone: "Z-north", Limit: 2, Offset: 1},
				[]string{"north-bin-outside", "in-north"}},
			{"zone north, past the end", civic.ServiceRequestFilter{Zone: "Z-north", Limit: 2, Offset: 9}, nil},
			{"held", civic.ServiceRequestFilter{Moderation: civic.ModHeld}, []string{"in-a-corner", "in-north"}},
			{"held, the first", civic.ServiceRequestFilter{Moderation: civic.ModHeld, Limit: 1}, []string{"in-a-corner"}},
			{"hidden in north", civic.ServiceRequestFilter{Moderation: civic.ModHidden, Zone: "Z-north"}, []string{"in-north-box"}},
			{"not hidden in north", civic.ServiceRequestFilter{NotHidden: true, Zone: "Z-north"},
				[]string{"north-bin-outside", "in-north", "north-bin-in-a"}},
			// The box around the circle holds in-a-corner too (8.2 km
			// away), the newest: a page holds only those in the circle,
			// and so does the count.
			{"near", civic.ServiceRequestFilter{Near: true, Lat: 52.46, Long: 13.5, RadiusM: 7000},
				[]string{"unzoned-bin-in-a", "in-a", "north-bin-in-a"}},
			{"near, the first", civic.ServiceRequestFilter{Near: true, Lat: 52.46, Long: 13.5, RadiusM: 7000, Limit: 1},
				[]string{"unzoned-bin-in-a"}},
			{"near, the second", civic.ServiceRequestFilter{Near: true, Lat: 52.46, Long: 13.5, RadiusM: 7000, Limit: 1, Offset: 1},
				[]string{"in-a"}},
		} {
			got, err := s.ListServiceRequests(ctx, c.f)
			must(t, c.name, err)
			var names []string
			for _, g := range got {
				names = append(names, g.Description)
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("%s: %v, want %v", c.name, names, c.want)
			}
			c.f.Limit, c.f.Offset = 0, 0
			all, err := s.ListServiceRequests(ctx, c.f)
			must(t, c.name+" all", err)
			if n, err := s.CountServiceRequests(ctx, c.f); err != nil || n != len(all) {
				t.Errorf("%s: CountServiceRequests = %d, %v; want %d", c.name, n, err, len(all))
			}
		}
		_, err = s.ListServiceRequests(ctx, civic.ServiceRequestFilter{Zone: "Z-nowhere"})
		wantKind(t, "unknown zone", err, civic.Invalid, "zone")
		_, err = s.ListServiceRequests(ctx, civic.ServiceRequestFilter{Zone: "Z-given"})
		wantKind(t, "a zone only given, not given", err, civic.Invalid, "zone")
		_, err = s.CountServiceRequests(ctx, civic.ServiceRequestFilter{Zone: "Z-a", Zones: given})
		wantKind(t, "count, a zone not given", err, civic.Invalid, "zone")
		_, err = s.CountServiceRequests(ctx, civic.ServiceRequestFilter{Zone: "Z\x00"})
		wantKind(t, "count, unknown zone", err, civic.Invalid, "zone")
	})
}

// TestServiceBinLinkMigration: a city whose catalogue predates BinLink
// has its "damaged-bin" service marked about a bin, and no other.
func TestServiceBinLinkMigration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "migrate down", store.MigrateDownTo(ctx, s, 160))
		var stamp any = clk.Now().UTC().Format(time.RFC3339Nano)
		if s.Engine() == store.EnginePostgres {
			stamp = clk.Now()
		}
		for _, code := range []string{"damaged-bin", "graffiti"} {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO services (code, name, description, grp, keywords, department, sla_hours,
				attributes, waste_link, active, created_at, updated_at) VALUES ($1, $1, '', '', '[]', '', 0, '[]', $2, $3, $4, $4)`,
				code, false, true, stamp)
			must(t, "insert "+code, err)
		}
		must(t, "migrate up", store.Migrate(ctx, s))
		for code, want := range map[string]bool{"damaged-bin": true, "graffiti": false} {
			got, err := s.Service(ctx, code)
			must(t, "Service "+code, err)
			if got.BinLink != want || got.WasteLink {
				t.Errorf("%s after the migration: bin link %v, waste link %v; want %v, false", code, got.BinLink, got.WasteLink, want)
			}
		}
	})
}
