package civic

import (
	"encoding/json"
	"math"
)

// Ring is a closed line of [lon, lat] positions, as in GeoJSON.
type Ring [][2]float64

// Polygon is an outer ring followed by holes.
type Polygon []Ring

// MultiPolygon is an area made of polygons. It marshals to and from a GeoJSON
// geometry object of type Polygon or MultiPolygon (RFC 7946).
type MultiPolygon []Polygon

// MarshalJSON writes a GeoJSON Polygon when there is one polygon, else a
// MultiPolygon.
func (m MultiPolygon) MarshalJSON() ([]byte, error) {
	if len(m) == 1 {
		return json.Marshal(struct {
			Type        string  `json:"type"`
			Coordinates Polygon `json:"coordinates"`
		}{"Polygon", m[0]})
	}
	coords := []Polygon(m)
	if coords == nil {
		coords = []Polygon{}
	}
	return json.Marshal(struct {
		Type        string    `json:"type"`
		Coordinates []Polygon `json:"coordinates"`
	}{"MultiPolygon", coords})
}

// UnmarshalJSON reads a GeoJSON Polygon or MultiPolygon geometry.
func (m *MultiPolygon) UnmarshalJSON(b []byte) error {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return FieldError("", "must be a GeoJSON Polygon or MultiPolygon geometry")
	}
	switch g.Type {
	case "Polygon":
		var p Polygon
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			return FieldError("coordinates", "must be an array of rings of [lon, lat] positions")
		}
		*m = MultiPolygon{p}
	case "MultiPolygon":
		var mp []Polygon
		if err := json.Unmarshal(g.Coordinates, &mp); err != nil {
			return FieldError("coordinates", "must be an array of polygons")
		}
		*m = mp
	default:
		return FieldError("type", "must be Polygon or MultiPolygon")
	}
	return nil
}

// Validate checks that every ring is closed, has at least four positions and
// valid coordinates.
func (m MultiPolygon) Validate() error {
	if len(m) == 0 {
		return FieldError("", "is required")
	}
	for _, p := range m {
		if len(p) == 0 {
			return FieldError("coordinates", "a polygon needs an outer ring")
		}
		for _, r := range p {
			if len(r) < 4 {
				return FieldError("coordinates", "a ring needs at least 4 positions")
			}
			if r[0] != r[len(r)-1] {
				return FieldError("coordinates", "a ring must end where it starts")
			}
			for _, pt := range r {
				if !(pt[0] >= -180 && pt[0] <= 180 && pt[1] >= -90 && pt[1] <= 90) {
					return FieldError("coordinates", "positions must be [lon, lat] in WGS 84")
				}
			}
		}
	}
	return nil
}

// Contains reports whether the point (lon, lat) lies inside the area (inside
// an outer ring and outside that polygon's holes).
func (m MultiPolygon) Contains(lon, lat float64) bool {
	for _, p := range m {
		if len(p) == 0 || !p[0].contains(lon, lat) {
			continue
		}
		inHole := false
		for _, h := range p[1:] {
			if h.contains(lon, lat) {
				inHole = true
				break
			}
		}
		if !inHole {
			return true
		}
	}
	return false
}

// contains is the even-odd ray-casting test.
func (r Ring) contains(x, y float64) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		xi, yi := r[i][0], r[i][1]
		xj, yj := r[j][0], r[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// BBox is a longitude/latitude box.
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// BBox returns the smallest box holding every outer ring of m (holes lie
// inside them); the zero box when m is empty.
func (m MultiPolygon) BBox() BBox {
	b := BBox{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
	for _, p := range m {
		if len(p) == 0 {
			continue
		}
		for _, pt := range p[0] {
			b.MinLon, b.MaxLon = min(b.MinLon, pt[0]), max(b.MaxLon, pt[0])
			b.MinLat, b.MaxLat = min(b.MinLat, pt[1]), max(b.MaxLat, pt[1])
		}
	}
	if b.MinLon > b.MaxLon {
		return BBox{}
	}
	return b
}

// Contains reports whether (lon, lat) lies in the box, edges included.
func (b BBox) Contains(lon, lat float64) bool {
	return lon >= b.MinLon && lon <= b.MaxLon && lat >= b.MinLat && lat <= b.MaxLat
}

// Validate checks the box.
func (b BBox) Validate() error {
	if !(b.MinLon >= -180 && b.MaxLon <= 180 && b.MinLat >= -90 && b.MaxLat <= 90 && b.MinLon <= b.MaxLon && b.MinLat <= b.MaxLat) {
		return FieldError("bbox", "must be min_lon,min_lat,max_lon,max_lat in WGS 84")
	}
	return nil
}

// earthRadiusM is the mean Earth radius used for great-circle distances.
const earthRadiusM = 6371008.8

// HaversineM returns the great-circle distance in metres between two points.
func HaversineM(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}
