package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func testFacility(id string) *civic.Facility {
	return &civic.Facility{ID: id, Name: "Facility " + id, Lat: 52.53, Lon: 13.38}
}

func TestFacilityCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		f := testFacility("F-1")
		must(t, "CreateFacility", s.CreateFacility(ctx, f))
		want := civic.Facility{ID: "F-1", Name: "Facility F-1", Kind: civic.FacilityTransfer, Lat: 52.53, Lon: 13.38,
			Streams: []civic.Stream{civic.StreamTrash}, Opens: "05:00", Closes: "20:00", UnloadMin: 15,
			Status: civic.StatusActive, CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
		if !reflect.DeepEqual(*f, want) {
			t.Errorf("CreateFacility left %+v,\nwant %+v", *f, want)
		}
		got, err := s.Facility(ctx, "F-1")
		must(t, "Facility", err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Facility() = %+v,\nwant %+v", got, want)
		}

		clk.Advance(time.Minute)
		f.Kind, f.Streams, f.Address, f.Opens, f.Closes, f.UnloadMin = civic.FacilityRecycling,
			[]civic.Stream{civic.StreamPaper, civic.StreamBottlesCans}, "Yard 2", "06:30", "18:00", 25
		must(t, "UpdateFacility", s.UpdateFacility(ctx, f))
		got, err = s.Facility(ctx, "F-1")
		must(t, "Facility", err)
		if !reflect.DeepEqual(got, *f) || !got.UpdatedAt.Equal(clk.Now()) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("after update Facility() = %+v,\nwant %+v", got, *f)
		}
		must(t, "CreateFacility F-0", s.CreateFacility(ctx, testFacility("F-0")))
		all, err := s.ListFacilities(ctx)
		must(t, "ListFacilities", err)
		if len(all) != 2 || all[0].ID != "F-0" || all[1].ID != "F-1" {
			t.Errorf("ListFacilities = %+v, want F-0, F-1", all)
		}

		bad := func(mod func(f *civic.Facility)) *civic.Facility {
			f := testFacility("F-9")
			mod(f)
			return f
		}
		tests := []struct {
			name  string
			err   error
			kind  civic.Kind
			field string
		}{
			{"duplicate", s.CreateFacility(ctx, testFacility("F-1")), civic.Conflict, ""},
			{"no name", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Name = " " })), civic.Invalid, "name"},
			{"bad kind", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Kind = "incinerator" })), civic.Invalid, "kind"},
			{"bad lat", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Lat = 91 })), civic.Invalid, "lat"},
			{"bad stream", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Streams = []civic.Stream{"glass"} })), civic.Invalid, "streams"},
			{"bad opens", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Opens = "7am" })), civic.Invalid, "opens"},
			{"closes before opens", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Opens, f.Closes = "10:00", "09:00" })), civic.Invalid, "closes"},
			{"unload too long", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.UnloadMin = 500 })), civic.Invalid, "unload_min"},
			{"bad status", s.CreateFacility(ctx, bad(func(f *civic.Facility) { f.Status = "gone" })), civic.Invalid, "status"},
			{"update invalid", s.UpdateFacility(ctx, bad(func(f *civic.Facility) { f.ID = "F-1"; f.Kind = "x" })), civic.Invalid, "kind"},
			{"update missing", s.UpdateFacility(ctx, testFacility("F-404")), civic.NotFound, ""},
			{"delete missing", s.DeleteFacility(ctx, "F-404"), civic.NotFound, ""},
		}
		for _, tt := range tests {
			if tt.field != "" {
				wantKind(t, tt.name, tt.err, tt.kind, tt.field)
			} else {
				wantKind(t, tt.name, tt.err, tt.kind)
			}
		}
		if _, err := s.Facility(ctx, "F-9"); !civic.IsKind(err, civic.NotFound) {
			t.Errorf("an invalid facility was stored: %v", err)
		}

		must(t, "DeleteFacility", s.DeleteFacility(ctx, "F-1"))
		_, err = s.Facility(ctx, "F-1")
		wantKind(t, "get deleted", err, civic.NotFound)
	})
}

func TestBinAccessWindow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		b := testBin("B-1", 52.52, 13.40)
		b.AccessWindow = "05:00-07:00"
		must(t, "CreateBin", s.CreateBin(ctx, b))
		got, err := s.Bin(ctx, "B-1")
		must(t, "Bin", err)
		if !reflect.DeepEqual(got.Bin, *b) {
			t.Errorf("Bin() = %+v,\nwant %+v", got.Bin, *b)
		}

		b.AccessWindow = "22:00-23:30"
		must(t, "UpdateBin", s.UpdateBin(ctx, b))
		got, err = s.Bin(ctx, "B-1")
		must(t, "Bin", err)
		if got.AccessWindow != "22:00-23:30" {
			t.Errorf("after UpdateBin AccessWindow = %q, want 22:00-23:30", got.AccessWindow)
		}

		imp := []civic.Bin{*testBin("B-1", 52.52, 13.40), *testBin("B-2", 52.51, 13.41)}
		imp[1].AccessWindow = "06:00-10:00"
		must(t, "ImportBins", s.ImportBins(ctx, imp))
		for _, want := range imp {
			got, err := s.Bin(ctx, want.ID)
			must(t, "Bin", err)
			if !reflect.DeepEqual(got.Bin, want) {
				t.Errorf("imported Bin(%s) = %+v,\nwant %+v", want.ID, got.Bin, want)
			}
		}
		list, err := s.ListBins(ctx, civic.BinFilter{})
		must(t, "ListBins", err)
		if len(list) != 2 || list[0].AccessWindow != "" || list[1].AccessWindow != "06:00-10:00" {
			t.Errorf("ListBins access windows = %+v", list)
		}

		bad := testBin("B-3", 52.5, 13.4)
		bad.AccessWindow = "07:00-05:00"
		wantKind(t, "create with a backwards window", s.CreateBin(ctx, bad), civic.Invalid, "access_window")
		badImp := []civic.Bin{*testBin("B-4", 52.5, 13.4), *bad}
		wantKind(t, "import with a bad window", s.ImportBins(ctx, badImp), civic.Invalid, "bins[1].access_window")
	})
}

func TestTruckCompactionRatio(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateDepot", s.CreateDepot(ctx, &civic.Depot{ID: "DEP-1", Name: "Central", Lat: 52.5, Lon: 13.4}))
		tr := &civic.Truck{ID: "T-1", Name: "Truck 1", DepotID: "DEP-1", CapacityL: 20000, CompactionRatio: 3.5}
		must(t, "CreateTruck", s.CreateTruck(ctx, tr))
		got, err := s.Truck(ctx, "T-1")
		must(t, "Truck", err)
		if !reflect.DeepEqual(got, *tr) {
			t.Errorf("Truck() = %+v,\nwant %+v", got, *tr)
		}
		tr.CompactionRatio = 0
		must(t, "UpdateTruck", s.UpdateTruck(ctx, tr))
		all, err := s.ListTrucks(ctx)
		must(t, "ListTrucks", err)
		if len(all) != 1 || !reflect.DeepEqual(all[0], *tr) {
			t.Errorf("ListTrucks = %+v,\nwant [%+v]", all, *tr)
		}
		tr.CompactionRatio = 12
		wantKind(t, "update with a ratio of 12", s.UpdateTruck(ctx, tr), civic.Invalid, "compaction_ratio")
	})
}
