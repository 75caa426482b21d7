package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func TestBinCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		b := testBin("B-1", 52.52, 13.40)
		b.Serial, b.Address, b.Compacting, b.Model, b.InstalledOn = "SN1", "Main St 1", true, "CleanCUBE", "2024-05-01"
		must(t, "CreateBin", s.CreateBin(ctx, b))
		if b.Status != civic.StatusActive || b.Stream != civic.StreamTrash || b.FullThreshold != civic.DefaultFullThreshold {
			t.Errorf("CreateBin did not normalize: %+v", b)
		}
		if got, want := b.CreatedAt, clk.Now(); !got.Equal(want) {
			t.Errorf("CreatedAt = %v, want %v", got, want)
		}
		got, err := s.Bin(ctx, "B-1")
		must(t, "Bin", err)
		if !reflect.DeepEqual(got.Bin, *b) {
			t.Errorf("Bin() = %+v,\nwant %+v", got.Bin, *b)
		}
		if got.State != nil {
			t.Errorf("State = %+v, want nil for a bin without readings", got.State)
		}

		wantKind(t, "create duplicate", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)), civic.Conflict)
		wantKind(t, "create invalid", s.CreateBin(ctx, testBin("B-2", 95, 13.4)), civic.Invalid, "lat")
		bad := testBin("B-3", 52.5, 13.4)
		bad.ZoneID = "nowhere"
		wantKind(t, "create with missing zone", s.CreateBin(ctx, bad), civic.Invalid, "zone_id")

		clk.Advance(time.Minute)
		b.Name, b.CapacityL = "Renamed", 1100
		must(t, "UpdateBin", s.UpdateBin(ctx, b))
		got, err = s.Bin(ctx, "B-1")
		must(t, "Bin", err)
		if got.Name != "Renamed" || got.CapacityL != 1100 || !got.UpdatedAt.Equal(clk.Now()) || got.CreatedAt.Equal(got.UpdatedAt) {
			t.Errorf("after update: %+v", got.Bin)
		}
		wantKind(t, "update missing", s.UpdateBin(ctx, testBin("B-9", 52.5, 13.4)), civic.NotFound)

		must(t, "DeleteBin", s.DeleteBin(ctx, "B-1"))
		_, err = s.Bin(ctx, "B-1")
		wantKind(t, "get deleted", err, civic.NotFound)
		wantKind(t, "delete missing", s.DeleteBin(ctx, "B-1"), civic.NotFound)
	})
}

func TestDeviceCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.52, 13.40)))
		d := &civic.Device{ID: "D-1", BinID: "B-1", DevEUI: "70:b3:d5:7e:d0:00:00:01", SecretHash: "h"}
		must(t, "CreateDevice", s.CreateDevice(ctx, d))
		if d.DevEUI != "70B3D57ED0000001" || d.FillScale != civic.ScaleFraction {
			t.Errorf("CreateDevice did not normalize: %+v", d)
		}
		got, err := s.Device(ctx, "D-1")
		must(t, "Device", err)
		if !reflect.DeepEqual(got, *d) {
			t.Errorf("Device() = %+v,\nwant %+v", got, *d)
		}
		byEUI, err := s.DeviceByEUI(ctx, "70b3d57ed0000001")
		must(t, "DeviceByEUI", err)
		if byEUI.ID != "D-1" {
			t.Errorf("DeviceByEUI = %q, want D-1", byEUI.ID)
		}

		tests := []struct {
			name  string
			d     civic.Device
			kind  civic.Kind
			field string
		}{
			{"duplicate id", civic.Device{ID: "D-1"}, civic.Conflict, ""},
			{"duplicate DevEUI", civic.Device{ID: "D-2", DevEUI: "70B3D57ED0000001"}, civic.Conflict, ""},
			{"missing bin", civic.Device{ID: "D-3", BinID: "B-404"}, civic.Invalid, "bin_id"},
			{"bad EUI", civic.Device{ID: "D-4", DevEUI: "xyz"}, civic.Invalid, "dev_eui"},
		}
		for _, tt := range tests {
			wantKind(t, tt.name, s.CreateDevice(ctx, &tt.d), tt.kind, tt.field)
		}

		d.BinID, d.Firmware, d.SecretHash = "", "2.1", ""
		must(t, "UpdateDevice", s.UpdateDevice(ctx, d))
		got, _ = s.Device(ctx, "D-1")
		if got.BinID != "" || got.Firmware != "2.1" || got.SecretHash != "h" || d.SecretHash != "h" {
			t.Errorf("after update: %+v (kept secret %q, want h)", got, d.SecretHash)
		}
		d.BinID = "B-404"
		wantKind(t, "update to missing bin", s.UpdateDevice(ctx, d), civic.Invalid, "bin_id")
		wantKind(t, "update missing", s.UpdateDevice(ctx, &civic.Device{ID: "D-9"}), civic.NotFound)

		must(t, "CreateDevice D-2", s.CreateDevice(ctx, &civic.Device{ID: "D-2", BinID: "B-1"}))
		must(t, "DeleteBin", s.DeleteBin(ctx, "B-1"))
		got, _ = s.Device(ctx, "D-2")
		if got.BinID != "" {
			t.Errorf("device still mounted on a deleted bin: %q", got.BinID)
		}
		list, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		if len(list) != 2 || list[0].ID != "D-1" || list[1].ID != "D-2" {
			t.Errorf("ListDevices = %+v", list)
		}
		must(t, "DeleteDevice", s.DeleteDevice(ctx, "D-1"))
		wantKind(t, "delete missing", s.DeleteDevice(ctx, "D-1"), civic.NotFound)
		_, err = s.DeviceByEUI(ctx, "70B3D57ED0000001")
		wantKind(t, "EUI of deleted", err, civic.NotFound)
	})
}

// TestDevicesPage: ListDevicesPage returns ListDevices' pages, in id
// order, on both engines, and refuses a negative limit or offset.
func TestDevicesPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, _ *clock) {
		ctx := context.Background()
		for _, id := range []string{"D-3", "D-1", "D-5", "D-2", "D-4"} {
			must(t, "CreateDevice "+id, s.CreateDevice(ctx, &civic.Device{ID: id}))
		}
		ids := func(ds []civic.Device) string {
			var out []string
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return strings.Join(out, ",")
		}
		for _, tc := range []struct {
			limit, offset int
			want          string
		}{
			{0, 0, "D-1,D-2,D-3,D-4,D-5"},
			{2, 0, "D-1,D-2"},
			{2, 2, "D-3,D-4"},
			{2, 4, "D-5"},
			{0, 3, "D-4,D-5"},
			{3, 5, ""},
			{1, 100, ""},
		} {
			got, err := s.ListDevicesPage(ctx, tc.limit, tc.offset)
			must(t, "ListDevicesPage", err)
			if ids(got) != tc.want {
				t.Errorf("ListDevicesPage(%d, %d) = %q, want %q", tc.limit, tc.offset, ids(got), tc.want)
			}
		}
		_, err := s.ListDevicesPage(ctx, -1, 0)
		wantKind(t, "negative limit", err, civic.Invalid, "limit")
		_, err = s.ListDevicesPage(ctx, 1, -1)
		wantKind(t, "negative offset", err, civic.Invalid, "offset")
	})
}

func TestZones(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin early", s.CreateBin(ctx, testBin("B-early", 52.5, 13.5)))
		must(t, "CreateBin outside", s.CreateBin(ctx, testBin("B-out", 48.1, 11.5)))
		z := &civic.Zone{ID: "Z-north", Name: "North", Boundary: square(13, 52, 14, 53)}
		must(t, "CreateZone", s.CreateZone(ctx, z))

		// Overlapping zone: "Z-a" sorts first, so new bins inside both go there.
		must(t, "CreateZone Z-a", s.CreateZone(ctx, &civic.Zone{ID: "Z-a", Name: "A", Boundary: square(13.4, 52.4, 13.6, 52.6)}))
		must(t, "CreateBin late", s.CreateBin(ctx, testBin("B-late", 52.9, 13.9)))
		must(t, "CreateBin both", s.CreateBin(ctx, testBin("B-both", 52.45, 13.45)))
		explicit := testBin("B-explicit", 52.45, 13.45)
		explicit.ZoneID = "Z-north"
		must(t, "CreateBin explicit", s.CreateBin(ctx, explicit))

		want := map[string]string{"B-early": "Z-north", "B-out": "", "B-late": "Z-north", "B-both": "Z-a", "B-explicit": "Z-north"}
		for id, zone := range want {
			b, err := s.Bin(ctx, id)
			must(t, "Bin", err)
			if b.ZoneID != zone {
				t.Errorf("bin %s zone = %q, want %q", id, b.ZoneID, zone)
			}
		}

		got, err := s.Zone(ctx, "Z-north")
		must(t, "Zone", err)
		if !reflect.DeepEqual(got, *z) {
			t.Errorf("Zone() = %+v,\nwant %+v", got, *z)
		}
		wantKind(t, "duplicate zone", s.CreateZone(ctx, &civic.Zone{ID: "Z-a", Name: "A", Boundary: square(0, 1, 1, 2)}), civic.Conflict)
		wantKind(t, "bad zone", s.CreateZone(ctx, &civic.Zone{ID: "Z-b", Name: "B"}), civic.Invalid, "boundary")

		// Updating a zone to cover B-out assigns it.
		z.Boundary = square(11, 48, 14, 53)
		must(t, "UpdateZone", s.UpdateZone(ctx, z))
		if b, _ := s.Bin(ctx, "B-out"); b.ZoneID != "Z-north" {
			t.Errorf("after UpdateZone, B-out zone = %q, want Z-north", b.ZoneID)
		}
		wantKind(t, "update missing zone", s.UpdateZone(ctx, &civic.Zone{ID: "Z-x", Name: "X", Boundary: square(0, 1, 1, 2)}), civic.NotFound)

		must(t, "DeleteZone", s.DeleteZone(ctx, "Z-a"))
		if b, _ := s.Bin(ctx, "B-both"); b.ZoneID != "" {
			t.Errorf("after DeleteZone, B-both zone = %q, want none", b.ZoneID)
		}
		wantKind(t, "delete missing zone", s.DeleteZone(ctx, "Z-a"), civic.NotFound)
		zones, err := s.ListZones(ctx)
		must(t, "ListZones", err)
		if len(zones) != 1 || zones[0].ID != "Z-north" {
			t.Errorf("ListZones = %+v", zones)
		}
	})
}

func TestDepotsTrucksCrews(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		dep := &civic.Depot{ID: "DEP-1", Name: "Central", Lat: 52.5, Lon: 13.4, Address: "Yard 1"}
		must(t, "CreateDepot", s.CreateDepot(ctx, dep))
		gotDep, err := s.Depot(ctx, "DEP-1")
		must(t, "Depot", err)
		if !reflect.DeepEqual(gotDep, *dep) {
			t.Errorf("Depot() = %+v, want %+v", gotDep, *dep)
		}
		wantKind(t, "duplicate depot", s.CreateDepot(ctx, &civic.Depot{ID: "DEP-1", Name: "X", Lat: 1, Lon: 1}), civic.Conflict)
		wantKind(t, "invalid depot", s.CreateDepot(ctx, &civic.Depot{ID: "DEP-2", Lat: 1, Lon: 1}), civic.Invalid, "name")

		tr := &civic.Truck{ID: "T-1", Name: "Truck 1", DepotID: "DEP-1", CapacityL: 20000}
		must(t, "CreateTruck", s.CreateTruck(ctx, tr))
		gotTr, err := s.Truck(ctx, "T-1")
		must(t, "Truck", err)
		if !reflect.DeepEqual(gotTr, *tr) {
			t.Errorf("Truck() = %+v, want %+v", gotTr, *tr)
		}
		wantKind(t, "truck at missing depot", s.CreateTruck(ctx, &civic.Truck{ID: "T-2", Name: "T", DepotID: "DEP-404", CapacityL: 1}), civic.Invalid, "depot_id")
		wantKind(t, "duplicate truck", s.CreateTruck(ctx, &civic.Truck{ID: "T-1", Name: "T", DepotID: "DEP-1", CapacityL: 1}), civic.Conflict)

		c := &civic.Crew{ID: "C-1", Name: "Crew 1", DepotID: "DEP-1", TruckID: "T-1", Members: []string{"ana", "ben"}}
		must(t, "CreateCrew", s.CreateCrew(ctx, c))
		gotC, err := s.Crew(ctx, "C-1")
		must(t, "Crew", err)
		if !reflect.DeepEqual(gotC, *c) {
			t.Errorf("Crew() = %+v, want %+v", gotC, *c)
		}
		wantKind(t, "crew with missing truck", s.CreateCrew(ctx, &civic.Crew{ID: "C-2", Name: "C", TruckID: "T-404"}), civic.Invalid, "truck_id")
		wantKind(t, "crew with missing depot", s.CreateCrew(ctx, &civic.Crew{ID: "C-2", Name: "C", DepotID: "DEP-404"}), civic.Invalid, "depot_id")

		wantKind(t, "delete depot in use", s.DeleteDepot(ctx, "DEP-1"), civic.Conflict)
		must(t, "DeleteTruck", s.DeleteTruck(ctx, "T-1"))
		gotC, _ = s.Crew(ctx, "C-1")
		if gotC.TruckID != "" {
			t.Errorf("crew keeps deleted truck %q", gotC.TruckID)
		}
		wantKind(t, "delete depot used by crew", s.DeleteDepot(ctx, "DEP-1"), civic.Conflict)
		c.DepotID, c.TruckID, c.Members = "", "", nil
		must(t, "UpdateCrew", s.UpdateCrew(ctx, c))
		gotC, _ = s.Crew(ctx, "C-1")
		if len(gotC.Members) != 0 || gotC.DepotID != "" {
			t.Errorf("after UpdateCrew: %+v", gotC)
		}
		must(t, "DeleteDepot", s.DeleteDepot(ctx, "DEP-1"))

		for _, tc := range []struct {
			name string
			err  error
		}{
			{"update missing depot", s.UpdateDepot(ctx, &civic.Depot{ID: "DEP-1", Name: "X", Lat: 1, Lon: 1})},
			{"delete missing depot", s.DeleteDepot(ctx, "DEP-1")},
			{"delete missing truck", s.DeleteTruck(ctx, "T-1")},
			{"update missing crew", s.UpdateCrew(ctx, &civic.Crew{ID: "C-9", Name: "X"})},
			{"delete missing crew", s.DeleteCrew(ctx, "C-9")},
		} {
			wantKind(t, tc.name, tc.err, civic.NotFound)
		}
		must(t, "DeleteCrew", s.DeleteCrew(ctx, "C-1"))
		crews, err := s.ListCrews(ctx)
		must(t, "ListCrews", err)
		trucks, err := s.ListTrucks(ctx)
		must(t, "ListTrucks", err)
		depots, err := s.ListDepots(ctx)
		must(t, "ListDepots", err)
		if len(crews)+len(trucks)+len(depots) != 0 {
			t.Errorf("left over: %v %v %v", crews, trucks, depots)
		}
	})
}

func TestImportBins(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateZone", s.CreateZone(ctx, &civic.Zone{ID: "Z-1", Name: "One", Boundary: square(13, 52, 14, 53)}))
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.5)))
		created := clk.Now()
		clk.Advance(time.Hour)

		bad := []civic.Bin{*testBin("B-1", 52.6, 13.6), *testBin("B-2", 48, 11), *testBin("B-3", 95, 11)}
		wantKind(t, "import with a bad row", s.ImportBins(ctx, bad), civic.Invalid, "bins[2].lat")
		badZone := []civic.Bin{*testBin("B-2", 48, 11), *testBin("B-3", 48, 11)}
		badZone[1].ZoneID = "Z-404"
		wantKind(t, "import with a missing zone", s.ImportBins(ctx, badZone), civic.Invalid, "bins[1].zone_id")
		if list, _ := s.ListBins(ctx, civic.BinFilter{}); len(list) != 1 || list[0].Lat != 52.5 {
			t.Fatalf("a failed import changed the bins: %+v", list)
		}

		good := []civic.Bin{*testBin("B-1", 52.6, 13.6), *testBin("B-2", 48, 11), *testBin("B-3", 52.1, 13.1)}
		good[0].Name = "Replaced"
		must(t, "ImportBins", s.ImportBins(ctx, good))
		list, err := s.ListBins(ctx, civic.BinFilter{})
		must(t, "ListBins", err)
		if len(list) != 3 {
			t.Fatalf("ListBins = %d bins, want 3", len(list))
		}
		b1 := list[0]
		if b1.Name != "Replaced" || b1.Lat != 52.6 || !b1.CreatedAt.Equal(created) || !b1.UpdatedAt.Equal(clk.Now()) {
			t.Errorf("replaced bin = %+v (created %v)", b1.Bin, created)
		}
		for _, tc := range []struct{ id, zone string }{{"B-1", "Z-1"}, {"B-2", ""}, {"B-3", "Z-1"}} {
			if b, _ := s.Bin(ctx, tc.id); b.ZoneID != tc.zone {
				t.Errorf("bin %s zone = %q, want %q", tc.id, b.ZoneID, tc.zone)
			}
		}
	})
}

func TestListBinsFilter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateZone", s.CreateZone(ctx, &civic.Zone{ID: "Z-1", Name: "One", Boundary: square(13, 52, 14, 53)}))
		bins := []*civic.Bin{testBin("B-1", 52.1, 13.1), testBin("B-2", 52.2, 13.2), testBin("B-3", 48.1, 11.1), testBin("B-4", 48.2, 11.2)}
		bins[1].Stream = civic.StreamPaper
		bins[3].Status = civic.StatusMaintenance
		for _, b := range bins {
			must(t, "CreateBin", s.CreateBin(ctx, b))
		}
		at := clk.Now().Add(-time.Hour)
		_, err := s.WriteReadings(ctx, [][]civic.Reading{{
			{Device: "D-1", Bin: "B-1", Time: at, Fill: f64(0.2)},
			{Device: "D-2", Bin: "B-2", Time: at, Fill: f64(0.9)},
			{Device: "D-3", Bin: "B-3", Time: at, Fill: f64(0.5)},
		}})
		must(t, "WriteReadings", err)

		tests := []struct {
			name string
			f    civic.BinFilter
			want []string
		}{
			{"all", civic.BinFilter{}, []string{"B-1", "B-2", "B-3", "B-4"}},
			{"zone", civic.BinFilter{Zone: "Z-1"}, []string{"B-1", "B-2"}},
			{"stream", civic.BinFilter{Stream: civic.StreamPaper}, []string{"B-2"}},
			{"status", civic.BinFilter{Status: civic.StatusMaintenance}, []string{"B-4"}},
			{"min fill", civic.BinFilter{MinFill: f64(0.5)}, []string{"B-2", "B-3"}},
			{"fill range", civic.BinFilter{MinFill: f64(0.1), MaxFill: f64(0.6)}, []string{"B-1", "B-3"}},
			{"bbox", civic.BinFilter{BBox: &civic.BBox{MinLon: 11, MinLat: 48, MaxLon: 11.15, MaxLat: 49}}, []string{"B-3"}},
			{"limit", civic.BinFilter{Limit: 2}, []string{"B-1", "B-2"}},
			{"offset", civic.BinFilter{Offset: 3}, []string{"B-4"}},
			{"limit offset", civic.BinFilter{Limit: 2, Offset: 1}, []string{"B-2", "B-3"}},
		}
		for _, tt := range tests {
			got, err := s.ListBins(ctx, tt.f)
			must(t, tt.name, err)
			ids := []string{}
			for _, b := range got {
				ids = append(ids, b.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, ids, tt.want)
			}
		}
		got, _ := s.ListBins(ctx, civic.BinFilter{Zone: "Z-1"})
		if got[1].State == nil || *got[1].State.Fill != 0.9 {
			t.Errorf("ListBins state of B-2 = %+v, want fill 0.9", got[1].State)
		}
		_, err = s.ListBins(ctx, civic.BinFilter{BBox: &civic.BBox{MinLon: 10, MaxLon: 5}})
		wantKind(t, "bad bbox", err, civic.Invalid, "bbox")
	})
}
