package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHaversine(t *testing.T) {
	// Zürich HB to Bern: about 95.5 km as the crow flies; one degree of
	// longitude on the equator: 111.2 km.
	tests := []struct {
		name   string
		a, b   LatLon
		wantKm float64
	}{
		{"Zürich-Bern", LatLon{47.3779, 8.5403}, LatLon{46.9490, 7.4391}, 95.5},
		{"equator degree", LatLon{0, 10}, LatLon{0, 11}, 111.19},
		{"same point", LatLon{47, 8}, LatLon{47, 8}, 0},
		{"antipodes", LatLon{10, 20}, LatLon{-10, -160}, math.Pi * earthRadiusM / 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Haversine{Circuity: 1.5, SpeedKmh: 30}
			d, tm, err := h.Table(context.Background(), []LatLon{tt.a, tt.b})
			if err != nil {
				t.Fatal(err)
			}
			if d[0] != 0 || d[3] != 0 || d[1] != d[2] {
				t.Fatalf("table %v: want a zero diagonal and symmetry", d)
			}
			if got, want := d[1]/1000, tt.wantKm*1.5; math.Abs(got-want) > 0.005*want+1e-9 {
				t.Errorf("distance %.2f km, want %.2f", got, want)
			}
			if got, want := tm[1], d[1]/(30/3.6); math.Abs(got-want) > 1e-6 {
				t.Errorf("time %.1f s, want %.1f", got, want)
			}
		})
	}
}

func TestHaversineMatchesFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([]LatLon, 57)
	for i := range pts {
		pts[i] = LatLon{47 + r.Float64()*0.3, 8 + r.Float64()*0.3}
	}
	d, _, err := Haversine{}.Table(context.Background(), pts)
	if err != nil {
		t.Fatal(err)
	}
	rad := math.Pi / 180
	for i, p := range pts {
		for j, q := range pts {
			s := math.Pow(math.Sin((q.Lat-p.Lat)*rad/2), 2) +
				math.Cos(p.Lat*rad)*math.Cos(q.Lat*rad)*math.Pow(math.Sin((q.Lon-p.Lon)*rad/2), 2)
			want := 2 * earthRadiusM * math.Asin(math.Sqrt(s))
			if got := d[i*len(pts)+j]; math.Abs(got-want) > 1e-6*want+1e-6 {
				t.Fatalf("d[%d][%d] = %f, want %f", i, j, got, want)
			}
		}
	}
}

func TestMemo(t *testing.T) {
	var calls atomic.Int32
	m := &Memo{Matrix: countingMatrix{&calls}}
	a := []LatLon{{1, 2}, {3, 4}}
	b := []LatLon{{3, 4}, {1, 2}}
	for _, pts := range [][]LatLon{a, a, b, a, b} {
		if _, _, err := m.Table(context.Background(), pts); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d computations, want 2 (one per point list)", got)
	}
	if m.Name() != "haversine" {
		t.Errorf("Name() = %q", m.Name())
	}
}

type countingMatrix struct{ n *atomic.Int32 }

func (c countingMatrix) Name() string { return "haversine" }
func (c countingMatrix) Table(ctx context.Context, p []LatLon) ([]float64, []float64, error) {
	c.n.Add(1)
	return Haversine{}.Table(ctx, p)
}

// fakeOSRM answers table requests in OSRM's documented format, with
// distance = 1000·|i-j| and duration = 100·|i-j| between the points'
// positions in the test's list (recovered from their longitudes), refusing
// tables larger than max × max like osrm-routed's --max-table-size.
type fakeOSRM struct {
	max      int
	requests atomic.Int32
	nullPair [2]int // a pair with no route, or -1
	answer   string // a fixed answer body, if set
	status   int
}

func (f *fakeOSRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if f.answer != "" {
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.answer)
		return
	}
	// OSRM separates list entries by ';', which net/url's query parser
	// refuses, so the query is split by hand.
	query := map[string]string{}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		query[k] = v
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
	if !ok || query["annotations"] != "distance,duration" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":"InvalidUrl","message":"URL string malformed close to position 1"}`)
		return
	}
	var ids []int
	for _, c := range strings.Split(path, ";") {
		lon, _, _ := strings.Cut(c, ",")
		v, err := strconv.ParseFloat(lon, 64)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":"InvalidQuery","message":"Query string malformed"}`)
			return
		}
		ids = append(ids, int(math.Round((v-8)*1000)))
	}
	idx := func(key string) []int {
		var out []int
		for _, s := range strings.Split(query[key], ";") {
			n, _ := strconv.Atoi(s)
			out = append(out, n)
		}
		return out
	}
	src, dst := idx("sources"), idx("destinations")
	if len(src)*len(dst) > f.max*f.max {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":"TooBig","message":"Too many table coordinates"}`)
		return
	}
	var resp struct {
		Code      string       `json:"code"`
		Durations [][]*float64 `json:"durations"`
		Distances [][]*float64 `json:"distances"`
	}
	resp.Code = "Ok"
	for _, s := range src {
		var drow, trow []*float64
		for _, d := range dst {
			a, b := ids[s], ids[d]
			if a == f.nullPair[0] && b == f.nullPair[1] {
				drow, trow = append(drow, nil), append(trow, nil)
				continue
			}
			diff := math.Abs(float64(a - b))
			drow, trow = append(drow, ptr(1000*diff)), append(trow, ptr(100*diff))
		}
		resp.Distances = append(resp.Distances, drow)
		resp.Durations = append(resp.Durations, trow)
	}
	json.NewEncoder(w).Encode(resp)
}

// line returns n points whose longitudes encode their index.
func line(n int) []LatLon {
	pts := make([]LatLon, n)
	for i := range pts {
		pts[i] = LatLon{47, 8 + float64(i)/1000}
	}
	return pts
}

func TestOSRM(t *testing.T) {
	tests := []struct {
		name     string
		n, block int
		fake     *fakeOSRM
		requests int
		err      string
	}{
		{name: "one block", n: 7, block: 10, fake: &fakeOSRM{max: 10}, requests: 1},
		{name: "blocks", n: 23, block: 10, fake: &fakeOSRM{max: 10}, requests: 9},
		{name: "default block size", n: 120, fake: &fakeOSRM{max: 100}, requests: 4},
		{name: "too big for the server", n: 12, block: 20, fake: &fakeOSRM{max: 10},
			err: `code "TooBig": Too many table coordinates`},
		{name: "error answer", n: 3, fake: &fakeOSRM{answer: `{"code":"NoSegment","message":"Could not find a matching segment for coordinate 1"}`, status: 400},
			err: `HTTP 400, code "NoSegment": Could not find a matching segment for coordinate 1`},
		{name: "not OSRM", n: 3, fake: &fakeOSRM{answer: `<html>Bad gateway</html>`, status: 502},
			err: "HTTP 502, not an OSRM answer"},
		{name: "short answer", n: 3, fake: &fakeOSRM{answer: `{"code":"Ok","durations":[[0,1,2]],"distances":[[0,1,2]]}`, status: 200},
			err: "answer has 1 duration and 1 distance rows, want 3"},
		{name: "null cell", n: 15, block: 10, fake: &fakeOSRM{max: 10, nullPair: [2]int{12, 3}},
			err: "sources 10-14, destinations 0-9: no route from point 12 to point 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fake.nullPair == [2]int{} {
				tt.fake.nullPair = [2]int{-1, -1}
			}
			srv := httptest.NewServer(tt.fake)
			defer srv.Close()
			o := OSRM{BaseURL: srv.URL + "/", Client: srv.Client(), BlockSize: tt.block}
			d, tm, err := o.Table(context.Background(), line(tt.n))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.n {
				for j := range tt.n {
					diff := math.Abs(float64(i - j))
					if d[i*tt.n+j] != 1000*diff || tm[i*tt.n+j] != 100*diff {
						t.Fatalf("cell %d,%d = %g m %g s, want %g m %g s", i, j, d[i*tt.n+j], tm[i*tt.n+j], 1000*diff, 100*diff)
					}
				}
			}
			if got := int(tt.fake.requests.Load()); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
		})
	}
}

func TestOSRMURL(t *testing.T) {
	o := OSRM{BaseURL: "http://osrm:5000", FallbackSpeedKmh: 18}
	got := o.url([]LatLon{{47.1, 8.2}, {47.3, 8.4}}, []int{0}, []int{1})
	want := "http://osrm:5000/table/v1/driving/8.200000,47.100000;8.400000,47.300000?annotations=distance,duration&sources=0&destinations=1&fallback_speed=5.000"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestOSRMCancelled(t *testing.T) {
	srv := httptest.NewServer(&fakeOSRM{max: 10})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := (OSRM{BaseURL: srv.URL}).Table(ctx, line(3)); err == nil {
		t.Fatal("want an error from a cancelled context")
	}
}

func cityPoints(n int) []LatLon {
	r := rand.New(rand.NewPCG(7, 7))
	pts := make([]LatLon, n)
	for i := range pts {
		pts[i] = LatLon{47.3 + r.Float64()*0.1, 8.45 + r.Float64()*0.15}
	}
	return pts
}

// BenchmarkHaversine3000 is the matrix of civic bench plan's city: about
// 3,000 points (2,000 due bins, depots and facilities, with margin).
func BenchmarkHaversine3000(b *testing.B) {
	pts := cityPoints(3000)
	h := Haversine{Circuity: 1.35, SpeedKmh: 25}
	for b.Loop() {
		if _, _, err := h.Table(context.Background(), pts); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeTable feeds made-up answers to the OSRM decoder: it never
// panics, and when it accepts an answer it has set every cell once, to a
// non-negative value.
func FuzzDecodeTable(f *testing.F) {
	f.Add(200, []byte(`{"code":"Ok","durations":[[0,1.5],[2,0]],"distances":[[0,10],[20,0]]}`), 2, 2)
	f.Add(200, []byte(`{"code":"Ok","durations":[[0,null],[2,0]],"distances":[[0,10],[20,0]]}`), 2, 2)
	f.Add(400, []byte(`{"code":"TooBig","message":"Too many table coordinates"}`), 1, 1)
	f.Add(200, []byte(`{"code":"Ok","durations":[[1]],"distances":[[-1]]}`), 1, 1)
	f.Add(502, []byte(`<html>`), 1, 1)
	f.Fuzz(func(t *testing.T, status int, body []byte, rows, cols int) {
		if rows < 0 || cols < 0 || rows*cols > 1<<16 {
			return
		}
		seen := make([]int, rows*cols)
		err := decodeTable(status, body, rows, cols, func(r, c int, d, s float64) {
			if d < 0 || s < 0 {
				t.Fatalf("cell %d,%d set to %g m %g s", r, c, d, s)
			}
			seen[r*cols+c]++
		})
		if err == nil {
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("accepted answer set cell %d %d times", i, n)
				}
			}
		}
	})
}
