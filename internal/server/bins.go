package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paulmach/orb/geojson"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// bins serves /api/v1/bins: public bins and compacting stations. Reads
// answer with the bin's latest state.
func (s *Server) bins() *resource[civic.Bin] {
	st := s.store
	return &resource[civic.Bin]{
		s: s, name: "bin",
		get: func(ctx context.Context, id string) (civic.Bin, error) {
			v, err := st.Bin(ctx, id)
			return v.Bin, err
		},
		create:  st.CreateBin,
		update:  st.UpdateBin,
		delete:  st.DeleteBin,
		id:      func(b *civic.Bin) *string { return &b.ID },
		prepare: func(_, b *civic.Bin) { b.Normalize() },
		view: func(ctx context.Context, id string) (any, error) {
			return st.Bin(ctx, id)
		},
	}
}

// maxListLimit bounds one page of bins: enough for a city's live map.
const maxListLimit = 50000

// handleListBins lists bins with their state. Query parameters filter:
// zone, stream, status, min_fill, max_fill (0..1),
// bbox=minLon,minLat,maxLon,maxLat, limit and offset; format=geojson
// answers with an RFC 7946 FeatureCollection of points.
func (s *Server) handleListBins(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	f, err := binFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "geojson" {
		return civic.FieldError("format", "must be json or geojson")
	}
	bins, err := s.store.ListBins(r.Context(), f)
	if err != nil {
		return err
	}
	if bins == nil {
		bins = []civic.BinView{}
	}
	if format == "geojson" {
		return writeGeoJSON(w, bins)
	}
	writeJSON(w, http.StatusOK, list[civic.BinView]{Items: bins})
	return nil
}

func binFilter(r *http.Request) (civic.BinFilter, error) {
	q := r.URL.Query()
	f := civic.BinFilter{
		Zone:   q.Get("zone"),
		Stream: civic.Stream(q.Get("stream")),
		Status: civic.AssetStatus(q.Get("status")),
	}
	if f.Stream != "" && !f.Stream.Valid() {
		return f, civic.FieldError("stream", "must be one of trash, recycling, paper, bottles_cans, compost")
	}
	if f.Status != "" && !f.Status.Valid() {
		return f, civic.FieldError("status", "must be one of active, inactive, maintenance, removed")
	}
	var err error
	if f.MinFill, err = fraction(q, "min_fill"); err != nil {
		return f, err
	}
	if f.MaxFill, err = fraction(q, "max_fill"); err != nil {
		return f, err
	}
	if v := q.Get("bbox"); v != "" {
		parts := strings.Split(v, ",")
		var n [4]float64
		if len(parts) != 4 {
			return f, civic.FieldError("bbox", "must be min_lon,min_lat,max_lon,max_lat")
		}
		for i, p := range parts {
			if n[i], err = strconv.ParseFloat(strings.TrimSpace(p), 64); err != nil {
				return f, civic.FieldError("bbox", "must be min_lon,min_lat,max_lon,max_lat")
			}
		}
		b := civic.BBox{MinLon: n[0], MinLat: n[1], MaxLon: n[2], MaxLat: n[3]}
		if err := b.Validate(); err != nil {
			return f, err
		}
		f.BBox = &b
	}
	if f.Limit, f.Offset, err = listPage(q); err != nil {
		return f, err
	}
	return f, nil
}

// listPage reads the page of an asset list: limit (0, the default, for
// all; else 1 to maxListLimit) and offset.
func listPage(q url.Values) (limit, offset int, err error) {
	if limit, err = intParam(q.Get("limit"), "limit", 0, 1, maxListLimit); err != nil {
		return 0, 0, err
	}
	if offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<31-1); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

func fraction(q map[string][]string, name string) (*float64, error) {
	vs := q[name]
	if len(vs) == 0 || vs[0] == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(vs[0], 64)
	if err != nil || !(v >= 0 && v <= 1) {
		return nil, civic.FieldError(name, "must be a fraction between 0 and 1")
	}
	return &v, nil
}

// intParam parses an optional integer query parameter in [lo, hi].
func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, civic.FieldError(name, "must be an integer between %d and %d", lo, hi)
	}
	return n, nil
}

// writeGeoJSON answers with the bins as an RFC 7946 FeatureCollection of
// assets.BinFeature points, the form exports write and imports read.
func writeGeoJSON(w http.ResponseWriter, bins []civic.BinView) error {
	fc := geojson.NewFeatureCollection()
	fc.Features = make([]*geojson.Feature, 0, len(bins))
	for i := range bins {
		fc.Append(assets.BinFeature(&bins[i]))
	}
	body, err := fc.MarshalJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}
