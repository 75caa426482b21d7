package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Defaults for CityParams.
const (
	DefaultBins      = 1000
	DefaultCenterLat = 39.9526 // Philadelphia City Hall
	DefaultCenterLon = -75.1652
	DefaultRadiusKm  = 7.0
	DefaultZones     = 8
)

// DefaultStart is the default CityParams.Start: a Monday, midnight in the
// default time zone. It is fixed, not the current time, so that a city
// generated without a start time is the same every day.
var DefaultStart = time.Date(2026, 1, 5, 5, 0, 0, 0, time.UTC)

// DefaultLocation is the default CityParams.Location: US Eastern standard
// time as a fixed offset, so that results do not depend on the time zone
// database of the machine.
var DefaultLocation = time.FixedZone("EST", -5*3600)

// CityParams configures GenerateCity. Zero fields take the defaults noted.
type CityParams struct {
	Bins      int     // number of bins; default DefaultBins
	Seed      uint64  // the city's random seed; 0 is a valid seed
	CenterLat float64 // city centre; default DefaultCenterLat, DefaultCenterLon
	CenterLon float64
	RadiusKm  float64 // radius of the served area; default DefaultRadiusKm
	// Zones is the number of collection zones: a downtown zone and
	// Zones-1 sectors around it; default DefaultZones, at least 2, at most 16.
	Zones int
	// Depots is the number of depots, 1 or 2; default 2 from 300 bins up.
	Depots int
	// Start is when the city's records are created; installation dates lie
	// before it. Default DefaultStart.
	Start time.Time
	// Location is the city's time zone, used for names of days, installation
	// dates and, by Sensors, for daily and weekly rhythms. Default
	// DefaultLocation.
	Location *time.Location
}

func (p CityParams) withDefaults() CityParams {
	if p.Bins <= 0 {
		p.Bins = DefaultBins
	}
	if p.CenterLat == 0 && p.CenterLon == 0 {
		p.CenterLat, p.CenterLon = DefaultCenterLat, DefaultCenterLon
	}
	if !(p.RadiusKm > 0) {
		p.RadiusKm = DefaultRadiusKm
	}
	if p.Zones == 0 {
		p.Zones = DefaultZones
	}
	p.Zones = min(max(p.Zones, 2), 16)
	if p.Depots <= 0 {
		p.Depots = 1
		if p.Bins >= 300 {
			p.Depots = 2
		}
	}
	p.Depots = min(p.Depots, 2)
	if p.Start.IsZero() {
		p.Start = DefaultStart
	}
	if p.Location == nil {
		p.Location = DefaultLocation
	}
	p.Start = p.Start.UTC()
	return p
}

// Area is the kind of place a bin stands in.
type Area int

// The areas of a city, from busiest to quietest.
const (
	AreaDowntown  Area = iota // the dense centre
	AreaCorridor              // along a commercial corridor
	AreaOutskirts             // the sparse rest of the city
)

// String returns "downtown", "corridor" or "outskirts".
func (a Area) String() string {
	switch a {
	case AreaDowntown:
		return "downtown"
	case AreaCorridor:
		return "corridor"
	case AreaOutskirts:
		return "outskirts"
	}
	return "area(" + strconv.Itoa(int(a)) + ")"
}

// Site describes where a bin stands: the facts Sensors derive its fill rate
// and its daily rhythm from.
type Site struct {
	Area      Area
	Corridor  string  // the corridor's street for AreaCorridor, else ""
	X, Y      float64 // metres east and north of the centre
	DistanceM float64 // metres from the centre
	// Activity is the expected volume of loose waste of the bin's stream
	// thrown into it per day, in litres, before the per-bin variation that
	// Sensors add.
	Activity float64
	// Commercial weighs the commercial rhythm (weekdays, office hours)
	// against the residential one (evenings, weekends), 0..1.
	Commercial float64
	// Exact makes Activity the bin's own mean volume a day, as measured
	// on a real bin: Sensors then add no per-bin variation to it.
	Exact bool
}

// City is a generated city. Bins, Sites and Devices are parallel: Sites[i]
// describes where Bins[i] stands and Devices[i] is its fill sensor. A City is
// not changed after GenerateCity returns it and may be shared. A City can
// also be built by hand from real assets for NewSensors (see there).
type City struct {
	Params  CityParams // the parameters, with defaults filled in
	Bins    []civic.Bin
	Sites   []Site
	Devices []civic.Device
	Zones   []civic.Zone
	Depots  []civic.Depot
	Trucks  []civic.Truck
	Crews   []civic.Crew
	// Facilities are where trucks unload: a transfer station for trash and
	// organics and a recycling centre for the rest, on the city's edge.
	Facilities []civic.Facility

	binIndex map[string]int
}

// BinIndex returns the index of the bin with the given id in c.Bins. It
// is a map lookup for a generated city and a scan for one built by hand.
func (c *City) BinIndex(id string) (int, bool) {
	if c.binIndex == nil {
		for i := range c.Bins {
			if c.Bins[i].ID == id {
				return i, true
			}
		}
		return 0, false
	}
	i, ok := c.binIndex[id]
	return i, ok
}

// DefaultSite describes a bin of a hand-built City without Sites: a
// middling place, half commercial, receiving 40 litres a day.
var DefaultSite = Site{Area: AreaCorridor, Activity: 40, Commercial: 0.5}

// BinViews returns the bins as civic.BinView values without state, the
// form asset exports take.
func (c *City) BinViews() []civic.BinView {
	vs := make([]civic.BinView, len(c.Bins))
	for i, b := range c.Bins {
		vs[i] = civic.BinView{Bin: b}
	}
	return vs
}

// frame converts between metres east/north of the centre and WGS 84.
type frame struct {
	lat0, lon0   float64
	mPerDegLat   float64
	mPerDegLon   float64
	radiusM      float64
	downtownR    float64 // radius of the downtown cluster of bins
	centerR      float64 // radius of the downtown zone
	zoneOuterR   float64 // outer radius of the zones
	sectors      int
	sectorOffset float64 // angle of the first sector boundary
}

func (f *frame) latLon(x, y float64) (lat, lon float64) {
	return round6(f.lat0 + y/f.mPerDegLat), round6(f.lon0 + x/f.mPerDegLon)
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// corridor is a commercial street through or from the centre.
type corridor struct {
	name  string
	angle float64 // direction, radians counter-clockwise from east
	both  bool    // runs through the centre in both directions
	kind  int     // 0 east-west grid street, 1 north-south grid street, 2 diagonal
}

// stream shares for bins paired with a trash station.
var pairedStreams = []struct {
	s civic.Stream
	p float64
}{
	{civic.StreamRecycling, 0.5},
	{civic.StreamBottlesCans, 0.2},
	{civic.StreamPaper, 0.15},
	{civic.StreamCompost, 0.15},
}

// streamActivity scales a site's trash volume to the volume of another
// stream thrown into a bin of that stream next to it.
var streamActivity = map[civic.Stream]float64{
	civic.StreamTrash:       1,
	civic.StreamRecycling:   0.5,
	civic.StreamBottlesCans: 0.3,
	civic.StreamPaper:       0.35,
	civic.StreamCompost:     0.25,
}

// Compacting stations are modelled on the Bigbelly High Capacity: 150 US
// gallons of compacted waste in a 50-gallon footprint.
const (
	CompactorCapacityL = 568.0
	CompactionRatio    = 5.0
)

// GenerateCity builds a city from p. It is deterministic: the same p gives
// an identical City. Every entity it returns passes its Validate method.
func GenerateCity(p CityParams) *City {
	p = p.withDefaults()
	rng := rand.New(rand.NewPCG(p.Seed, 0x63697479)) // "city"
	f := &frame{
		lat0:       p.CenterLat,
		lon0:       p.CenterLon,
		mPerDegLat: 111320,
		mPerDegLon: 111320 * math.Cos(p.CenterLat*math.Pi/180),
		radiusM:    p.RadiusKm * 1000,
	}
	f.downtownR = min(1800, 0.3*f.radiusM)
	f.centerR = min(1200, 0.2*f.radiusM)
	f.zoneOuterR = f.radiusM*1.05 + 100
	f.sectors = p.Zones - 1
	f.sectorOffset = rng.Float64() * 2 * math.Pi / float64(f.sectors)

	c := &City{Params: p, binIndex: make(map[string]int, p.Bins)}
	c.Zones = genZones(f, p)
	corrs := genCorridors(rng)
	genBins(c, f, rng, corrs)
	genDevices(c, rng)
	genFleet(c, f, rng)
	return c
}

func genCorridors(rng *rand.Rand) []corridor {
	cs := []corridor{
		{name: "Market St", angle: 0, both: true, kind: 0},
		{name: "Broad St", angle: math.Pi / 2, both: true, kind: 1},
	}
	perm := rng.Perm(len(corridorNames))
	// Two diagonal avenues leave the centre towards the north-west and
	// the south-east, give or take 15 degrees.
	for i, a := range []float64{2.2, -1.0} {
		cs = append(cs, corridor{
			name:  corridorNames[perm[i]],
			angle: a + (rng.Float64()-0.5)*0.5,
			kind:  2,
		})
	}
	return cs
}

func genZones(f *frame, p CityParams) []civic.Zone {
	const perSector = 6
	n := f.sectors * perSector
	inner := make([][2]float64, n)
	outer := make([][2]float64, n)
	for i := range n {
		a := f.sectorOffset + 2*math.Pi*float64(i)/float64(n)
		lat, lon := f.latLon(f.centerR*math.Cos(a), f.centerR*math.Sin(a))
		inner[i] = [2]float64{lon, lat}
		lat, lon = f.latLon(f.zoneOuterR*math.Cos(a), f.zoneOuterR*math.Sin(a))
		outer[i] = [2]float64{lon, lat}
	}
	zones := make([]civic.Zone, 0, p.Zones)
	down := make(civic.Ring, 0, n+1)
	down = append(down, inner...)
	down = append(down, inner[0])
	zones = append(zones, civic.Zone{ID: "Z-01", Name: "Center City", Boundary: civic.MultiPolygon{{down}}})
	seen := map[string]int{}
	for s := range f.sectors {
		ring := civic.Ring{}
		for k := 0; k <= perSector; k++ { // outer arc, counter-clockwise
			ring = append(ring, outer[(s*perSector+k)%n])
		}
		for k := perSector; k >= 0; k-- { // inner arc back, clockwise
			ring = append(ring, inner[(s*perSector+k)%n])
		}
		ring = append(ring, ring[0])
		mid := f.sectorOffset + 2*math.Pi*(float64(s)+0.5)/float64(f.sectors)
		name := compass(mid)
		seen[name]++
		if k := seen[name]; k > 1 {
			name += " " + strconv.Itoa(k)
		}
		zones = append(zones, civic.Zone{
			ID:       fmt.Sprintf("Z-%02d", s+2),
			Name:     name + " District",
			Boundary: civic.MultiPolygon{{ring}},
		})
	}
	for i := range zones {
		zones[i].CreatedAt, zones[i].UpdatedAt = p.Start, p.Start
	}
	return zones
}

// zoneOf returns the index of the zone holding the point.
func zoneOf(c *City, f *frame, x, y float64) int {
	lat, lon := f.latLon(x, y)
	for i := range c.Zones {
		if c.Zones[i].Boundary.Contains(lon, lat) {
			return i
		}
	}
	// Outside every polygon (only possible within centimetres of an
	// edge): fall back on the construction.
	if math.Hypot(x, y) < f.centerR {
		return 0
	}
	a := math.Mod(math.Atan2(y, x)-f.sectorOffset+4*math.Pi, 2*math.Pi)
	return 1 + min(int(a/(2*math.Pi/float64(f.sectors))), f.sectors-1)
}

// place is a generated location with its name and address.
type place struct {
	x, y    float64
	name    string
	address string
	area    Area
	corr    string
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// cornerTag names the corner of a crossing a place is on: "NE", "SW".
func cornerTag(sx, sy float64) string {
	c := "S"
	if sy > 0 {
		c = "N"
	}
	if sx > 0 {
		return c + "E"
	}
	return c + "W"
}

// cornerName is "Market St & 12th St (NE)".
func cornerName(a, b string, sx, sy float64) string {
	return a + " & " + b + " (" + cornerTag(sx, sy) + ")"
}

// gridPlace snaps (x, y) to a street corner or, sometimes, mid-block.
func gridPlace(rng *rand.Rand, x, y float64) place {
	bx, by := nsBlock(x), ewBlock(y)
	sx, sy := sign(rng), sign(rng)
	ew, ns := ewStreetName(by), nsStreetName(bx)
	if rng.Float64() < 0.25 { // mid-block on the east-west street
		along := rng.Float64()
		px := (float64(bx) + sx*along*0.5) * nsBlockM
		py := float64(by)*ewBlockM + sy*10
		return place{
			x: px, y: py,
			name:    ew + " near " + ns,
			address: fmt.Sprintf("%d %s", houseNumber(streetNo(nsBlock(px)), along, sy > 0), ew),
		}
	}
	px := float64(bx)*nsBlockM + sx*12
	py := float64(by)*ewBlockM + sy*10
	return place{
		x: px, y: py,
		name:    cornerName(ew, ns, sx, sy),
		address: fmt.Sprintf("%d %s", houseNumber(streetNo(bx), rng.Float64()*0.2, sy > 0), ew),
	}
}

func corridorPlace(rng *rand.Rand, f *frame, c corridor) place {
	d := f.radiusM * math.Pow(rng.Float64(), 1.6)
	dir := 1.0
	if c.both {
		dir = sign(rng)
	}
	var p place
	switch c.kind {
	case 0: // east-west: corners with numbered streets
		bx := nsBlock(dir * d)
		sx, sy := sign(rng), sign(rng)
		p = place{x: float64(bx)*nsBlockM + sx*12, y: sy * 10,
			name:    cornerName(c.name, nsStreetName(bx), sx, sy),
			address: fmt.Sprintf("%d %s", houseNumber(streetNo(bx), rng.Float64()*0.2, sy > 0), c.name)}
	case 1: // north-south: corners with named streets
		by := ewBlock(dir * d)
		sx, sy := sign(rng), sign(rng)
		prefix := "S "
		if by >= 0 {
			prefix = "N "
		}
		p = place{x: sx * 12, y: float64(by)*ewBlockM + sy*10,
			name:    cornerName(c.name, ewStreetName(by), sx, sy),
			address: fmt.Sprintf("%d %s%s", houseNumber(by, rng.Float64()*0.2, sx > 0), prefix, c.name)}
	default: // diagonal avenue: named after the nearest numbered street
		d = 400 + d*(1-400/f.radiusM) // it leaves the grid a few blocks out
		side := sign(rng)
		x := d*math.Cos(c.angle) - side*10*math.Sin(c.angle)
		y := d*math.Sin(c.angle) + side*10*math.Cos(c.angle)
		p = place{x: x, y: y,
			name:    c.name + " & " + nsStreetName(nsBlock(x)) + " (" + compassAbbr(c.angle+side*math.Pi/2) + " side)",
			address: fmt.Sprintf("%d %s", houseNumber(int(d/nsBlockM), rng.Float64(), side > 0), c.name)}
	}
	p.area, p.corr = AreaCorridor, c.name
	return p
}

// genPlace draws a location for a new station.
func genPlace(rng *rand.Rand, f *frame, corrs []corridor) place {
	u := rng.Float64()
	switch {
	case u < 0.30: // the downtown cluster
		for {
			x, y := rng.NormFloat64()*650, rng.NormFloat64()*650
			if math.Hypot(x, y) < f.downtownR*0.95 {
				p := gridPlace(rng, x, y)
				p.area = AreaDowntown
				return p
			}
		}
	case u < 0.72: // corridors, weighted by length
		w := rng.Float64() * 6 // both-way corridors count twice
		k := 0
		for acc := 0.0; k < len(corrs); k++ {
			acc += 1
			if corrs[k].both {
				acc++
			}
			if w < acc {
				break
			}
		}
		return corridorPlace(rng, f, corrs[min(k, len(corrs)-1)])
	default: // sparse outskirts
		r0 := f.downtownR
		r := math.Sqrt(rng.Float64()*(f.radiusM*f.radiusM-r0*r0) + r0*r0)
		a := rng.Float64() * 2 * math.Pi
		p := gridPlace(rng, r*math.Cos(a), r*math.Sin(a))
		p.area = AreaOutskirts
		return p
	}
}

// activity returns the expected litres of trash per day at a place, and how
// commercial its rhythm is.
func activity(p place, d float64, f *frame) (litres, commercial float64) {
	switch p.area {
	case AreaDowntown:
		return 16 + 190*math.Exp(-d/700), 0.9
	case AreaCorridor:
		return 11 + 77*math.Exp(-d/2200), 0.2 + 0.7*math.Exp(-d/5000)
	}
	return 5.5 + 13*math.Exp(-(d-f.downtownR)/2500), 0.2
}

func idWidth(n int) int { return max(4, len(strconv.Itoa(n))) }

func genBins(c *City, f *frame, rng *rand.Rand, corrs []corridor) {
	p := c.Params
	width := idWidth(p.Bins)
	names := map[string]int{}
	add := func(pl place, stream civic.Stream, compacting bool, capL float64) {
		i := len(c.Bins)
		id := fmt.Sprintf("B-%0*d", width, i+1)
		name := pl.name
		if stream != civic.StreamTrash {
			name += " " + strings.ReplaceAll(string(stream), "_", " & ")
		}
		names[name]++
		if k := names[name]; k > 1 {
			name += " #" + strconv.Itoa(k)
		}
		lat, lon := f.latLon(pl.x, pl.y)
		installed := p.Start.Add(-time.Duration((60 + rng.Float64()*6*365) * 24 * float64(time.Hour)))
		model := fmt.Sprintf("Street basket %g L", capL)
		serialPrefix := "SB"
		if compacting {
			model = "Solar compactor 150 gal"
			serialPrefix = "HC"
		}
		d := math.Hypot(pl.x, pl.y)
		act, com := activity(pl, d, f)
		b := civic.Bin{
			ID:            id,
			Serial:        fmt.Sprintf("%s%02d-%06d", serialPrefix, installed.In(p.Location).Year()%100, i+1),
			Name:          name,
			Lat:           lat,
			Lon:           lon,
			Address:       pl.address,
			Stream:        stream,
			CapacityL:     capL,
			Compacting:    compacting,
			Model:         model,
			ZoneID:        c.Zones[zoneOf(c, f, pl.x, pl.y)].ID,
			Status:        civic.StatusActive,
			InstalledOn:   installed.In(p.Location).Format(time.DateOnly),
			FullThreshold: civic.DefaultFullThreshold,
			CreatedAt:     p.Start,
			UpdatedAt:     p.Start,
		}
		c.binIndex[id] = i
		c.Bins = append(c.Bins, b)
		c.Sites = append(c.Sites, Site{
			Area: pl.area, Corridor: pl.corr,
			X: math.Round(pl.x), Y: math.Round(pl.y), DistanceM: math.Round(d),
			Activity:   act * streamActivity[stream],
			Commercial: com,
		})
	}
	for len(c.Bins) < p.Bins {
		pl := genPlace(rng, f, corrs)
		var pCompact, pPair float64
		var caps []float64
		switch pl.area {
		case AreaDowntown:
			pCompact, pPair, caps = 0.8, 0.45, []float64{240, 240, 240, 160, 160}
		case AreaCorridor:
			pCompact, pPair, caps = 0.45, 0.35, []float64{240, 240, 160, 160, 120}
		default:
			pCompact, pPair, caps = 0.1, 0.15, []float64{120, 120, 120, 160, 240}
		}
		compacting := rng.Float64() < pCompact
		capL := CompactorCapacityL
		if !compacting {
			capL = caps[rng.IntN(len(caps))]
		}
		add(pl, civic.StreamTrash, compacting, capL)
		if len(c.Bins) < p.Bins && rng.Float64() < pPair {
			u := rng.Float64()
			s := pairedStreams[len(pairedStreams)-1].s
			for _, ps := range pairedStreams {
				if u < ps.p {
					s = ps.s
					break
				}
				u -= ps.p
			}
			pc := compacting && (s == civic.StreamRecycling || s == civic.StreamPaper) && rng.Float64() < 0.7
			pcap := CompactorCapacityL
			if !pc {
				pcap = []float64{120, 240}[rng.IntN(2)]
			}
			pl.x += 1.5 // the recycler stands beside the station
			add(pl, s, pc, pcap)
		}
	}
}

// DevEUI prefixes of the LoRaWAN sensor kinds (IEEE OUIs used by real
// sensor makers, so that generated EUIs look familiar).
var euiPrefix = map[string]uint64{
	"ultrasonic": 0xA84041,
	"laser":      0x70B3D5,
}

func genDevices(c *City, rng *rand.Rand) {
	width := idWidth(len(c.Bins))
	offset := rng.Uint64() & (1<<40 - 1)
	for i, b := range c.Bins {
		d := civic.Device{
			ID:        fmt.Sprintf("D-%0*d", width, i+1),
			BinID:     b.ID,
			Status:    civic.StatusActive,
			CreatedAt: c.Params.Start,
			UpdatedAt: c.Params.Start,
		}
		u := rng.Float64()
		switch {
		case b.Compacting && u < 0.85:
			d.Kind, d.FillScale = "bigbelly", civic.ScaleBigbelly
			d.ExpectedInterval = []int{600, 900, 1200}[rng.IntN(3)]
			d.Firmware = []string{"5.12", "5.14"}[rng.IntN(2)]
		case !b.Compacting && u < 0.3:
			d.Kind = "laser"
			d.FillScale = []civic.FillScale{civic.ScalePercent, civic.ScaleFraction}[rng.IntN(2)]
			d.ExpectedInterval = []int{600, 900}[rng.IntN(2)]
			d.Firmware = "1.8.2"
		default:
			d.Kind = "ultrasonic"
			d.FillScale = civic.ScalePercent
			if rng.Float64() < 0.4 {
				d.FillScale = civic.ScaleFraction
			}
			d.ExpectedInterval = []int{900, 1200}[rng.IntN(2)]
			d.Firmware = []string{"2.3.1", "2.4.0"}[rng.IntN(2)]
		}
		if prefix, ok := euiPrefix[d.Kind]; ok {
			// An odd multiplier is a bijection modulo 2^40, so EUIs of
			// one kind never collide.
			low := (uint64(i)*0x9E3779B1 + offset) & (1<<40 - 1)
			d.DevEUI = fmt.Sprintf("%06X%010X", prefix, low)
			d.PayloadFormat = "civic-v1"
		}
		c.Devices = append(c.Devices, d)
	}
}

var truckKinds = map[civic.Stream]struct {
	name      string
	capacityL float64
	perTruck  int // bins one truck serves
}{
	civic.StreamTrash:       {"Packer", 19100, 300},      // 25 yd³ rear loader
	civic.StreamRecycling:   {"Recycler", 15300, 400},    // 20 yd³
	civic.StreamPaper:       {"Paper truck", 15300, 400}, // 20 yd³
	civic.StreamBottlesCans: {"Glass & cans", 11500, 400},
	civic.StreamCompost:     {"Organics", 7600, 400}, // 10 yd³
}

func genFleet(c *City, f *frame, rng *rand.Rand) {
	p := c.Params
	a0 := rng.Float64() * 2 * math.Pi
	for k := range p.Depots {
		a := a0 + float64(k)*(math.Pi+(rng.Float64()-0.5))
		x, y := 0.6*f.radiusM*math.Cos(a), 0.6*f.radiusM*math.Sin(a)
		by := ewBlock(y)
		lat, lon := f.latLon(x, float64(by)*ewBlockM+15)
		c.Depots = append(c.Depots, civic.Depot{
			ID:        fmt.Sprintf("DEPOT-%d", k+1),
			Name:      compass(a) + " Yard",
			Lat:       lat,
			Lon:       lon,
			Address:   fmt.Sprintf("%d %s", houseNumber(streetNo(nsBlock(x)), 0.5, false), ewStreetName(by)),
			CreatedAt: p.Start,
			UpdatedAt: p.Start,
		})
	}
	genFacilities(c, f, a0)
	count := map[civic.Stream]int{}
	for _, b := range c.Bins {
		count[b.Stream]++
	}
	users := map[string]int{}
	username := func() string {
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		u := strings.ToLower(first[:1] + strings.ReplaceAll(last, " ", ""))
		users[u]++
		if k := users[u]; k > 1 {
			u += strconv.Itoa(k)
		}
		return u
	}
	for _, s := range civic.Streams {
		if count[s] == 0 {
			continue
		}
		tk := truckKinds[s]
		n := (count[s] + tk.perTruck - 1) / tk.perTruck
		if s == civic.StreamTrash {
			n++ // a spare for breakdowns and overflow
		}
		for k := range n {
			i := len(c.Trucks)
			depot := c.Depots[i%len(c.Depots)]
			start, end := "06:00", "14:30"
			if s != civic.StreamTrash {
				start, end = "07:00", "15:30"
			} else if k%3 == 2 {
				start, end = "14:00", "22:00" // downtown evening round
			}
			t := civic.Truck{
				ID:         fmt.Sprintf("T-%02d", i+1),
				Name:       fmt.Sprintf("%s %d", tk.name, k+1),
				DepotID:    depot.ID,
				CapacityL:  tk.capacityL,
				Stream:     s,
				ShiftStart: start,
				ShiftEnd:   end,
				Status:     civic.StatusActive,
				CreatedAt:  p.Start,
				UpdatedAt:  p.Start,
			}
			c.Trucks = append(c.Trucks, t)
			c.Crews = append(c.Crews, civic.Crew{
				ID:        fmt.Sprintf("C-%02d", i+1),
				Name:      fmt.Sprintf("Crew %d (%s)", i+1, t.Name),
				DepotID:   depot.ID,
				TruckID:   t.ID,
				Members:   []string{username(), username()},
				CreatedAt: p.Start,
				UpdatedAt: p.Start,
			})
		}
	}
}

// genFacilities places the disposal facilities on the city's edge, a
// quarter turn from the depots. It draws no random numbers, so cities
// generated before facilities existed keep their bins and fleet.
func genFacilities(c *City, f *frame, a0 float64) {
	kinds := []struct {
		kind    civic.FacilityKind
		name    string
		streams []civic.Stream
		unload  float64
	}{
		{civic.FacilityTransfer, "Transfer Station", []civic.Stream{civic.StreamTrash, civic.StreamCompost}, 15},
		{civic.FacilityRecycling, "Recycling Centre", []civic.Stream{civic.StreamRecycling, civic.StreamPaper, civic.StreamBottlesCans}, 20},
	}
	for k, kd := range kinds {
		a := a0 + math.Pi/2 + float64(k)*math.Pi
		x, y := 0.85*f.radiusM*math.Cos(a), 0.85*f.radiusM*math.Sin(a)
		by := ewBlock(y)
		lat, lon := f.latLon(x, float64(by)*ewBlockM+15)
		c.Facilities = append(c.Facilities, civic.Facility{
			ID:        fmt.Sprintf("FAC-%d", k+1),
			Name:      compass(a) + " " + kd.name,
			Kind:      kd.kind,
			Lat:       lat,
			Lon:       lon,
			Address:   fmt.Sprintf("%d %s", houseNumber(streetNo(nsBlock(x)), 0.5, false), ewStreetName(by)),
			Streams:   kd.streams,
			Opens:     "05:00",
			Closes:    "23:00",
			UnloadMin: kd.unload,
			Status:    civic.StatusActive,
			CreatedAt: c.Params.Start,
			UpdatedAt: c.Params.Start,
		})
	}
}
