package civic_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func ptr[T any](v T) *T { return &v }

func TestReadingNormalize(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ok := func() civic.Reading {
		return civic.Reading{Device: "S-1", Time: now.Add(-time.Minute), Fill: ptr(42.0)}
	}
	tests := []struct {
		name      string
		scale     civic.FillScale
		edit      func(r *civic.Reading)
		wantField string // "" means valid
		wantFill  float64
	}{
		{"percent converted", civic.ScalePercent, func(r *civic.Reading) {}, "", 0.42},
		{"bigbelly converted", civic.ScaleBigbelly, func(r *civic.Reading) { r.Fill = ptr(7.0) }, "", 0.7},
		{"fraction kept", civic.ScaleFraction, func(r *civic.Reading) { r.Fill = ptr(0.3) }, "", 0.3},
		{"slight overshoot capped", civic.ScalePercent, func(r *civic.Reading) { r.Fill = ptr(105.0) }, "", 1},
		{"fill out of range", civic.ScaleFraction, func(r *civic.Reading) {}, "fill", 0},
		{"negative fill", civic.ScalePercent, func(r *civic.Reading) { r.Fill = ptr(-1.0) }, "fill", 0},
		{"no device", civic.ScalePercent, func(r *civic.Reading) { r.Device = "" }, "device", 0},
		{"bad device id", civic.ScalePercent, func(r *civic.Reading) { r.Device = "a b" }, "device", 0},
		{"no time", civic.ScalePercent, func(r *civic.Reading) { r.Time = time.Time{} }, "time", 0},
		{"clock in 1970", civic.ScalePercent, func(r *civic.Reading) { r.Time = time.Unix(0, 0) }, "time", 0},
		{"far future", civic.ScalePercent, func(r *civic.Reading) { r.Time = now.Add(48 * time.Hour) }, "time", 0},
		{"no measurement", civic.ScalePercent, func(r *civic.Reading) { r.Fill = nil }, "", -1},
		{"battery above 1", civic.ScalePercent, func(r *civic.Reading) { r.Battery = ptr(1.5) }, "battery", 0},
		{"negative compactions", civic.ScalePercent, func(r *civic.Reading) { r.Compactions = ptr(-1) }, "compactions", 0},
		{"tilt too large", civic.ScalePercent, func(r *civic.Reading) { r.TiltDeg = ptr(200.0) }, "tilt_deg", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.edit(&r)
			err := r.Normalize(tt.scale, now)
			switch {
			case tt.wantFill == -1:
				if civic.KindOf(err) != civic.Invalid {
					t.Fatalf("got %v, want an invalid error", err)
				}
			case tt.wantField != "":
				if got := civic.FieldOf(err); got != tt.wantField || civic.KindOf(err) != civic.Invalid {
					t.Fatalf("got error %v (field %q), want invalid %q", err, got, tt.wantField)
				}
			default:
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if *r.Fill != tt.wantFill {
					t.Errorf("fill = %v, want %v", *r.Fill, tt.wantFill)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("saving: %w", civic.PrefixField("readings[3]", civic.FieldError("fill", "too big")))
	if got, want := civic.FieldOf(err), "readings[3].fill"; got != want {
		t.Errorf("FieldOf = %q, want %q", got, want)
	}
	if got := civic.KindOf(err); got != civic.Invalid {
		t.Errorf("KindOf = %q, want invalid", got)
	}
	if got := civic.MessageOf(errors.New("db password wrong")); got != "internal error" {
		t.Errorf("MessageOf(plain error) = %q, must not leak details", got)
	}
	if got := civic.MessageOf(civic.Wrap(civic.Internal, errors.New("secret detail"), "x")); got != "internal error" {
		t.Errorf("MessageOf(internal) = %q, must not leak details", got)
	}
	if civic.KindOf(nil) != "" {
		t.Error("KindOf(nil) must be empty")
	}
}

func TestMultiPolygon(t *testing.T) {
	var m civic.MultiPolygon
	src := `{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}`
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lon, lat float64
		want     bool
	}{{1, 1, true}, {5, 5, false}, {11, 5, false}, {9.9, 9.9, true}} {
		if got := m.Contains(tt.lon, tt.lat); got != tt.want {
			t.Errorf("Contains(%v, %v) = %v, want %v", tt.lon, tt.lat, got, tt.want)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != src {
		t.Errorf("round trip:\n got %s\nwant %s", out, src)
	}
	var bad civic.MultiPolygon
	if err := json.Unmarshal([]byte(`{"type":"Point","coordinates":[1,2]}`), &bad); civic.FieldOf(err) != "type" {
		t.Errorf("a Point boundary: got %v, want an error naming type", err)
	}
	open := civic.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}
	if err := open.Validate(); err == nil {
		t.Error("an unclosed ring must not validate")
	}
}

func TestPermissions(t *testing.T) {
	crew := civic.Principal{UserID: "u1", Name: "pat", Role: civic.RoleCrew}
	ingestKey := civic.Principal{KeyID: "k1", Name: "sensors", Scopes: []civic.Scope{civic.ScopeIngest}}
	tests := []struct {
		p    civic.Principal
		perm civic.Permission
		want civic.Kind
	}{
		{crew, civic.PermRead, ""},
		{crew, civic.PermWriteAssets, civic.Forbidden},
		{ingestKey, civic.PermIngest, ""},
		{ingestKey, civic.PermRead, civic.Forbidden},
		{civic.Anonymous, civic.PermRead, civic.Unauthorized},
		{civic.Principal{UserID: "u2", Role: civic.RoleAdmin}, civic.PermManageAccess, ""},
		{civic.Principal{UserID: "u3", Role: civic.RoleAnalyst}, civic.PermOperate, civic.Forbidden},
	}
	for _, tt := range tests {
		if got := civic.KindOf(tt.p.Require(tt.perm)); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.p.Name, tt.perm, got, tt.want)
		}
	}
}

func TestBinValidate(t *testing.T) {
	good := civic.Bin{ID: "B-1", Name: "Market & 5th", Lat: 39.95, Lon: -75.16, CapacityL: 568}
	good.Normalize()
	if err := good.Validate(); err != nil {
		t.Fatalf("valid bin: %v", err)
	}
	for field, edit := range map[string]func(b *civic.Bin){
		"id":             func(b *civic.Bin) { b.ID = "" },
		"name":           func(b *civic.Bin) { b.Name = " " },
		"lat":            func(b *civic.Bin) { b.Lat = 91 },
		"lon":            func(b *civic.Bin) { b.Lon = -181 },
		"stream":         func(b *civic.Bin) { b.Stream = "glass" },
		"capacity_l":     func(b *civic.Bin) { b.CapacityL = 0 },
		"installed_on":   func(b *civic.Bin) { b.InstalledOn = "25/11/2026" },
		"full_threshold": func(b *civic.Bin) { b.FullThreshold = 1.5 },
	} {
		b := good
		edit(&b)
		if got := civic.FieldOf(b.Validate()); got != field {
			t.Errorf("breaking %s: error names %q", field, got)
		}
	}
}

func TestHaversine(t *testing.T) {
	// Philadelphia City Hall to the Liberty Bell: about 1.2 km.
	d := civic.HaversineM(39.9526, -75.1635, 39.9496, -75.1503)
	if d < 1100 || d > 1300 {
		t.Errorf("distance = %.0f m, want about 1,170 m", d)
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "rows"}, {1, "row"}, {2, "rows"}} {
		if got := civic.Plural(c.n, "row"); got != c.want {
			t.Errorf("Plural(%d, row) = %q, want %q", c.n, got, c.want)
		}
	}
}

// TestMedian: the middle value, the mean of the two middle ones for an even
// count, in any order; nil for none.
func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{9, 1, 5}, 5}, {[]float64{30, 12}, 21}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := civic.Median(tc.xs); got == nil || *got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if got := civic.Median(nil); got != nil {
		t.Errorf("Median(nil) = %v, want nil", *got)
	}
}

func TestMultiPolygonBBox(t *testing.T) {
	ring := func(lon0, lat0, lon1, lat1 float64) civic.Ring {
		return civic.Ring{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}
	}
	// Two polygons, the first with a hole that reaches nowhere beyond it.
	m := civic.MultiPolygon{
		civic.Polygon{ring(13, 52, 14, 53), ring(13.2, 52.2, 13.4, 52.4)},
		civic.Polygon{ring(-1, 51, 0.5, 51.5)},
	}
	if got, want := m.BBox(), (civic.BBox{MinLon: -1, MinLat: 51, MaxLon: 14, MaxLat: 53}); got != want {
		t.Errorf("BBox() = %+v, want %+v", got, want)
	}
	if got := (civic.MultiPolygon{}).BBox(); got != (civic.BBox{}) {
		t.Errorf("empty BBox() = %+v, want the zero box", got)
	}
	// Every point the area contains lies in its box.
	b := m.BBox()
	for lon := -2.0; lon <= 15; lon += 0.25 {
		for lat := 50.0; lat <= 54; lat += 0.25 {
			if m.Contains(lon, lat) && !b.Contains(lon, lat) {
				t.Fatalf("(%g, %g) is in the area but not in its box", lon, lat)
			}
		}
	}
}
