package sim

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Faults sets how often simulated sensors misbehave. Rates are
// probabilities in [0, 1].
type Faults struct {
	// ZeroReading is the chance that an ultrasonic reading reports an
	// empty bin (fill 0) whatever the truth: a lost echo.
	ZeroReading float64
	// Loss is the chance that an uplink never arrives.
	Loss float64
	// StuckPerDay is the chance, per device and day, that a sensor starts
	// repeating its last fill reading for 6 to 48 hours.
	StuckPerDay float64
	// DyingBattery is the share of devices whose battery fails: it drains
	// from 35-60% to nothing in one to three weeks, then the device goes
	// silent.
	DyingBattery float64
	// FirePerDay is the chance, per bin and day, of a fire: for one to
	// three hours, starting between 10:00 and 22:00, the temperature
	// climbs 60-140 °C above ambient over ten minutes and the sensor
	// raises its fire flag from 50 °C.
	FirePerDay float64
	// TiltPerDay is the chance, per bin and day, that the bin is knocked
	// over (a car, a storm, vandals): from a time between 06:00 and
	// midnight its sensor reports a tilt of 60-95° for 2 to 26 hours,
	// until a crew sets it upright.
	TiltPerDay float64
}

// DefaultFaults returns the fault rates used when SensorParams.Faults is
// nil: one ultrasonic reading in 200 reads zero, one uplink in 100 is
// lost, a hundred devices have a stuck sensor every five days or so, one
// device in a hundred has a failing battery, and a city of a thousand bins
// has a fire about every ten days.
func DefaultFaults() Faults {
	return Faults{
		ZeroReading:  0.005,
		Loss:         0.01,
		StuckPerDay:  0.002,
		DyingBattery: 0.01,
		FirePerDay:   0.0001,
	}
}

// DemoFaults returns the fault rates of the demo city (`civic serve
// --demo`): DefaultFaults with fires three times as often and bins knocked
// over, so that in a city of a thousand bins a supervisor sees a fire
// every three days or so, a tilted bin about every other day, stuck
// sensors daily and a few failing batteries: every kind of alert within a
// session of the accelerated demo, at rates a large city could see.
func DemoFaults() Faults {
	f := DefaultFaults()
	f.FirePerDay = 0.0003
	f.TiltPerDay = 0.0005
	return f
}

// PolicyKind names an automatic collection policy.
type PolicyKind string

// Automatic collection policies.
const (
	// PolicyNone never empties a bin: the caller calls Empty.
	PolicyNone PolicyKind = "none"
	// PolicyFixed empties every bin on a fixed schedule, as a city without
	// sensors does: each bin is visited every 1, 2, 3, 4 or 7 days, the
	// longest interval at which the city's rough estimate of its mean fill
	// rate (off by a factor of about 1.8 either way) fills it to
	// Policy.Target, or twice a day if even one day is too long; at a time
	// of day between 06:00 and 14:00 that is the bin's place in its route
	// (twice-daily bins again 9 hours later). Daily means Monday to
	// Saturday; the other intervals run through the week.
	PolicyFixed PolicyKind = "fixed"
	// PolicyThreshold visits every bin once a day at its round time and
	// empties it if its true fill is at least Policy.Threshold.
	PolicyThreshold PolicyKind = "threshold"
)

// DefaultScheduleTarget is the default Policy.Target: the fill a fixed
// schedule expects a bin to reach, at its mean rate, by its next
// collection. Together with the city's rough estimates of the rates and
// the discrete intervals (see PolicyFixed), it reproduces Philadelphia's
// 2014 Bigbelly records: a median of about two days between collections of
// a bin, a mean near three, and nearly half of the collections emptying a
// fairly empty bin (under 40%), a sixth or fewer a full one.
const DefaultScheduleTarget = 0.85

// scheduleError is the spread (log scale) of the city's estimate of a bin's
// mean fill rate when it sets a fixed schedule.
const scheduleError = 0.6

// Policy is an automatic collection policy.
type Policy struct {
	Kind PolicyKind
	// Target is PolicyFixed's planned fill at collection; 0 means
	// DefaultScheduleTarget.
	Target float64
	// Threshold is PolicyThreshold's fill from which a bin is emptied; 0
	// means the bin's own threshold (civic.Bin.Threshold).
	Threshold float64
}

// Collection is an automatic collection made by a Policy.
type Collection struct {
	BinID string
	Time  time.Time
	Fill  float64 // true fill just before the bin was emptied, 0..1
}

// EventKind names a kind of Event.
type EventKind string

// Kinds of events.
const (
	// EventStreetFair makes the bins of Zone fill Factor times faster.
	EventStreetFair EventKind = "street_fair"
	// EventFire starts a fire in Bin: its sensor reports a temperature
	// spike (60-140 °C above ambient within ten minutes) and, from 50 °C,
	// the fire flag.
	EventFire EventKind = "fire"
	// EventStuck makes Bin's sensor repeat its last fill reading.
	EventStuck EventKind = "stuck"
)

// Event is something that happens to the city for a while: a street fair, a
// fire, a stuck sensor. Sensors schedule street fairs themselves (see
// SensorParams.StreetFairWeeks); AddEvent adds more.
type Event struct {
	Kind   EventKind
	Zone   string    // EventStreetFair: the zone
	Bin    string    // EventFire, EventStuck: the bin
	Start  time.Time // inclusive
	End    time.Time // exclusive
	Factor float64   // EventStreetFair: the rate multiplier; 0 means DefaultFairFactor
}

// DefaultFairFactor is how many times faster a street fair fills its zone's
// bins.
const DefaultFairFactor = 4.0

// SensorParams configures NewSensors.
type SensorParams struct {
	// Seed drives the bins' fill rates, the sensors' noise and the faults.
	Seed uint64
	// Start is the simulation's starting time; default the city's
	// Params.Start. Bins start with a random fill.
	Start time.Time
	// Faults sets the fault rates; nil means DefaultFaults(), a pointer to
	// a zero Faults means none.
	Faults *Faults
	// Policy empties bins automatically; the zero value is PolicyNone.
	Policy Policy
	// StreetFairWeeks schedules a street fair every that many weeks, on a
	// Saturday from 10:00 to 20:00 in one zone chosen at random, filling
	// its bins DefaultFairFactor times faster. 0 means every 4 weeks; a
	// negative number means never.
	StreetFairWeeks int
	// OnCollect, if set, is called for every automatic collection, in the
	// order the bins are advanced (not globally in time order), from
	// within Step: it must not call the Sensors' methods.
	OnCollect func(Collection)
}

// Sensors simulates the fill of a city's bins and the uplinks of their
// sensors. Its methods are safe for concurrent use.
//
// The model: each bin receives loose waste at a true rate that is its mean
// rate (set by its site's activity, its stream and a per-bin random factor,
// spanning well over an order of magnitude across the city) times an
// hour-of-week profile (commercial or residential, nights near zero) times
// a random factor for the day (about ±25%) times any street fair. Fill is
// the fraction of the bin's capacity in use, capped at 1 (an overflowing
// bin). A compacting station's capacity is its compacted capacity
// (CompactorCapacityL, CompactionRatio times its physical volume), and its
// compaction counter counts one cycle per half hopper of loose waste.
type Sensors struct {
	mu     sync.Mutex
	city   *City
	loc    *time.Location
	p      SensorParams
	faults Faults
	seed   uint64
	start  int64 // Unix seconds
	now    int64

	bins   []binState
	devs   []devState
	heap   []int32 // devices by next uplink time
	events []event
	zoneIx map[string]int
	binIx  map[string]int

	fairWeeks int
	fairPhase int64

	dayPCG  *rand.PCG
	dayRand *rand.Rand
	offHour int64 // cache for offset(): UTC hour and its zone offset
	offVal  int64
	alloc   slab
	stats   stats
}

// stats counts injected faults, for tests.
type stats struct {
	readings, lost, zero, stuck, fires, dying, dead, collections int
	tilts                                                        int
}

// event is an Event with times in Unix seconds and names resolved.
type event struct {
	Event
	start, end int64
	zone, bin  int
}

// binState is the hidden truth about one bin.
type binState struct {
	id         string
	ix         int // index in Sensors.bins and City.Bins
	zone       int
	capL       float64
	compacting bool
	meanRate   float64 // fraction of capacity per hour, weekly mean
	commercial float64 // weight of CommercialProfile
	threshold  float64

	t     int64   // the time fill is known at
	fill  float64 // 0..1
	fill0 float64 // the fill at the start
	loose float64 // litres of loose waste received since the start

	// The waste ledger, in fractions of the capacity, from the start:
	// fill0 + generated = collected + fill + overflowed.
	generated, collected, overflowed float64
	fullSecs                         int64 // seconds spent at 100%
	overflows                        int   // times the bin became full

	segStart, segEnd int64 // cached constant-rate segment
	segRate          float64

	dayCache int64
	dayInfo  dayInfo

	// automatic collection
	every     int     // PolicyFixed: rounds every that many days (0: twice a day); else 1
	phase     int     // the day modulo every of the rounds
	phaseDraw int     // the random draw phase derives from
	estimate  float64 // the city's estimate of meanRate, relative
	sundays   bool    // rounds on Sundays too
	tod       int64   // seconds after local midnight of the round
	next      int64   // next round, math.MaxInt64 for none
	empties   uint64
}

type devKind uint8

const (
	kindUltrasonic devKind = iota
	kindLaser
	kindBigbelly
)

// devState is one sensor's state.
type devState struct {
	id       string
	bin      int
	kind     devKind
	scale    civic.FillScale
	rng      *rand.Rand
	interval int64
	next     int64
	dead     bool

	battery0, drain float64
	solar           bool
	rssi0           float64
	depthMM         float64
	offsetMM        float64
	tilt0           float64
	tempOff         float64
	compactions0    int

	faultDay           int64
	stuckFrom, stuckTo int64
	held               bool
	heldFill, heldDist float64
	lastFill, lastDist float64
	fireFrom, fireTo   int64
	firePeak           float64
	tiltFrom, tiltTo   int64
	tiltDeg            float64
}

// dayInfo is what a bin's day holds, drawn from a generator seeded by the
// bin and the day, so that it does not depend on how the caller steps time.
type dayInfo struct {
	factor            float64 // rate multiplier for the day, mean 1
	stuckAt, stuckFor int64   // seconds after midnight; stuckAt < 0: none
	fireAt, fireFor   int64
	firePeak          float64 // °C above ambient
	tiltAt, tiltFor   int64   // tiltAt < 0: none
	tiltDeg           float64
}

const dayFactorSigma = 0.25

// NewSensors returns a simulation of city's sensors starting at p.Start.
// Every bin starts with a fill drawn between empty and two thirds full.
//
// The city may also be built by hand, for instance from stored assets: it
// needs Bins (valid, with unique ids) and Devices (those whose BinID names
// no bin are ignored); Zones, Sites (DefaultSite when not one per bin) and
// Params (DefaultStart, DefaultLocation) are optional. Sensors do not
// change the city.
func NewSensors(city *City, p SensorParams) *Sensors {
	if p.Start.IsZero() {
		p.Start = city.Params.Start
	}
	if p.Start.IsZero() {
		p.Start = DefaultStart
	}
	loc := city.Params.Location
	if loc == nil {
		loc = DefaultLocation
	}
	p.Policy = p.Policy.withDefaults()
	s := &Sensors{
		city:    city,
		loc:     loc,
		binIx:   make(map[string]int, len(city.Bins)),
		p:       p,
		seed:    p.Seed,
		start:   p.Start.Unix(),
		zoneIx:  make(map[string]int, len(city.Zones)),
		dayPCG:  rand.NewPCG(0, 0),
		offHour: math.MinInt64,
	}
	s.dayRand = rand.New(s.dayPCG)
	s.now = s.start
	if p.Faults == nil {
		s.faults = DefaultFaults()
	} else {
		s.faults = *p.Faults
	}
	switch {
	case p.StreetFairWeeks == 0:
		s.fairWeeks = 4
	case p.StreetFairWeeks > 0:
		s.fairWeeks = p.StreetFairWeeks
	}
	for i, z := range city.Zones {
		s.zoneIx[z.ID] = i
	}
	if s.fairWeeks > 0 {
		s.fairPhase = int64(rand.New(rand.NewPCG(p.Seed, 0x66616972)).IntN(s.fairWeeks)) // "fair"
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x73656e736f7273)) // "sensors"
	s.bins = make([]binState, len(city.Bins))
	for i := range city.Bins {
		b := &city.Bins[i]
		s.binIx[b.ID] = i
		zone, ok := s.zoneIx[b.ZoneID]
		if !ok {
			zone = -1 // no street fairs
		}
		site := DefaultSite
		if len(city.Sites) == len(city.Bins) {
			site = city.Sites[i]
		}
		// Every bin makes the same draws whatever the policy, so that
		// policies are compared on the same waste.
		litresPerDay := site.Activity * math.Exp(0.55*rng.NormFloat64())
		if site.Exact {
			litresPerDay = site.Activity // the draw above is made all the same
		}
		fill0 := rng.Float64() * 2 / 3
		phase := rng.IntN(7 * 12) // divisible by every schedule interval
		tod := int64(6*3600 + rng.IntN(8*3600))
		estimateErr := math.Exp(scheduleError * rng.NormFloat64())
		bs := &s.bins[i]
		*bs = binState{
			id:         b.ID,
			ix:         i,
			zone:       zone,
			capL:       b.CapacityL,
			compacting: b.Compacting,
			meanRate:   litresPerDay / b.CapacityL / 24,
			commercial: site.Commercial,
			threshold:  b.Threshold(),
			t:          s.start,
			fill:       fill0,
			fill0:      fill0,
			dayCache:   math.MinInt64,
			phaseDraw:  phase,
			tod:        tod,
			estimate:   estimateErr,
		}
		s.schedule(bs, s.start)
	}
	s.devs = make([]devState, len(city.Devices))
	s.heap = make([]int32, 0, len(city.Devices))
	for i := range city.Devices {
		d := &city.Devices[i]
		bi, ok := s.binIx[d.BinID]
		if !ok {
			continue
		}
		ds := &s.devs[i]
		*ds = devState{
			id:        d.ID,
			bin:       bi,
			scale:     d.FillScale,
			rng:       rand.New(rand.NewPCG(p.Seed, 0x64657600+uint64(i))), // "dev"+i
			interval:  int64(max(d.ExpectedInterval, 10)),
			faultDay:  math.MinInt64,
			stuckFrom: math.MaxInt64,
			fireFrom:  math.MaxInt64,
			tiltFrom:  math.MaxInt64,
		}
		switch d.Kind {
		case "laser":
			ds.kind = kindLaser
		case "bigbelly":
			ds.kind = kindBigbelly
		}
		// A fixed set of draws per device, whatever its kind and the
		// fault rates, so that changing one does not reshuffle the rest.
		r := ds.rng
		ds.next = s.start + 1 + r.Int64N(ds.interval)
		u := [9]float64{}
		for k := range u {
			u[k] = r.Float64()
		}
		ds.battery0 = 0.35 + 0.65*u[0]
		ds.drain = 0.0005 + 0.001*u[1]
		ds.rssi0 = -118 + 38*u[2] // LoRaWAN, often at the edge of coverage
		if ds.kind == kindBigbelly {
			ds.solar = true
			ds.battery0, ds.drain = 0.82+0.12*u[0], 0
			ds.rssi0 = -100 + 35*u[2] // cellular
		}
		if u[3] < s.faults.DyingBattery {
			ds.battery0 = 0.35 + 0.25*u[4]
			ds.drain = 0.03 + 0.03*u[5]
			s.stats.dying++
		}
		ds.offsetMM = 150 + 100*u[6]
		ds.tilt0 = 4 * u[7]
		ds.tempOff = r.NormFloat64()
		ds.compactions0 = 1000 + int(20000*u[8])
		bs := &s.bins[bi]
		switch {
		case bs.compacting:
			ds.depthMM = 1200
		case bs.capL <= 120:
			ds.depthMM = 800
		case bs.capL <= 160:
			ds.depthMM = 900
		default:
			ds.depthMM = 1000
		}
		if bs.compacting {
			ds.tempOff += 2 // dark steel in the sun
		}
		ds.lastFill = bs.fill
		ds.lastDist = ds.offsetMM + ds.depthMM*(1-bs.fill)
		s.heap = append(s.heap, int32(i))
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	return s
}

func (p Policy) withDefaults() Policy {
	if p.Kind == "" {
		p.Kind = PolicyNone
	}
	if p.Target <= 0 {
		p.Target = DefaultScheduleTarget
	}
	return p
}

// schedule sets b's rounds under the current policy, the first after t.
func (s *Sensors) schedule(b *binState, t int64) {
	b.every, b.phase, b.next, b.sundays = 1, 0, math.MaxInt64, true
	switch s.p.Policy.Kind {
	case PolicyFixed:
		// The city sizes schedules from a rough estimate of each bin's
		// rate, not the truth.
		b.every = scheduleDays(b.meanRate*24*b.estimate, s.p.Policy.Target)
		b.phase = b.phaseDraw % max(b.every, 1)
		b.sundays = b.every != 1 // "daily" means six days a week
		b.next = s.nextRound(b, t)
	case PolicyThreshold:
		b.next = s.nextRound(b, t)
	}
}

// SetPolicy changes the automatic collection policy from Now on; the zero
// Policy stops automatic collections. A demo can backfill history under
// PolicyFixed, then hand the collections over to its planner and crews
// (PolicyNone and Empty). It fails with civic.Invalid for an unknown kind.
func (s *Sensors) SetPolicy(p Policy) error {
	p = p.withDefaults()
	switch p.Kind {
	case PolicyNone, PolicyFixed, PolicyThreshold:
	default:
		return civic.FieldError("policy", "must be one of none, fixed, threshold")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.Policy = p
	for i := range s.bins {
		s.schedule(&s.bins[i], s.now)
	}
	return nil
}

// scheduleDays picks a fixed schedule's interval in days (0 meaning twice a
// day) for a bin filling dailyRate of its capacity a day on average.
func scheduleDays(dailyRate, target float64) int {
	best := 0
	for _, d := range []int{1, 2, 3, 4, 7} {
		if dailyRate*float64(d) <= target {
			best = d
		}
	}
	return best
}

// Now returns the simulation time: the end of the last Step (second
// resolution), or the start.
func (s *Sensors) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Unix(s.now, 0).UTC()
}

func (s *Sensors) binIndex(id string) (int, bool) {
	i, ok := s.binIx[id]
	return i, ok
}

// City returns the simulated city.
func (s *Sensors) City() *City { return s.city }

// Step advances the simulation to until and returns the uplinks the sensors
// sent after the previous Step and up to until, ordered by time and then
// device. Each reading carries Device and Time (whole seconds, UTC) and the
// measurements its kind of sensor sends, with Fill on the device's own
// FillScale as the sensor reports it; lost uplinks and silent devices (dead
// battery) are missing. Bins are advanced to until, with automatic
// collections made on the way. Step returns nil if until is not after Now.
//
// The readings do not depend on how time is cut into Steps, up to
// floating-point rounding of the fill.
func (s *Sensors) Step(until time.Time) []civic.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := until.Unix()
	if u <= s.now {
		return nil
	}
	return s.step(u, make([]civic.Reading, 0, s.due(u)))
}

// due estimates how many uplinks are due up to u, to size slices so that
// appends never copy readings.
func (s *Sensors) due(u int64) int {
	perSec := 0.0
	for _, i := range s.heap {
		perSec += 1 / float64(s.devs[i].interval)
	}
	return int(float64(u-s.now)*perSec*1.03) + len(s.heap)
}

// step is Step to u (> s.now), appending to out. s.mu must be held.
func (s *Sensors) step(u int64, out []civic.Reading) []civic.Reading {
	for len(s.heap) > 0 {
		i := s.heap[0]
		d := &s.devs[i]
		if d.next > u {
			break
		}
		if r, ok := s.read(d, d.next); ok {
			out = append(out, r)
		}
		if d.dead {
			last := len(s.heap) - 1
			s.heap[0] = s.heap[last]
			s.heap = s.heap[:last]
		} else {
			jitter := int64((d.rng.Float64() - 0.5) * 0.04 * float64(d.interval))
			d.next += max(d.interval+jitter, 1)
		}
		if len(s.heap) > 0 {
			s.down(0)
		}
	}
	for i := range s.bins {
		s.advance(&s.bins[i], u)
	}
	s.now = u
	return out
}

// less orders heap entries by next uplink, then device index.
func (s *Sensors) less(a, b int32) bool {
	na, nb := s.devs[a].next, s.devs[b].next
	return na < nb || na == nb && a < b
}

func (s *Sensors) down(i int) {
	h := s.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.less(h[r], h[l]) {
			m = r
		}
		if !s.less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// MaxEmptyAhead is how far after Now Empty accepts a collection: a crew
// may check a stop off between two Steps of a demo loop.
const MaxEmptyAhead = time.Hour

// Empty records that binID was emptied at t: the bin's fill drops to a
// small residue (up to 2%). It returns the bin's true fill just before.
//
// t is normally Now. If it is later (at most MaxEmptyAhead), the bin is
// moved on to t alone, and its sensor's readings until the simulation
// reaches t already show it emptied. If it is earlier (an earlier Step went
// past it), the waste that arrived since t is put back in, and the
// returned fill is estimated by taking that waste out of the current fill.
// Empty fails with civic.NotFound for an unknown bin and civic.Invalid for
// a time before the start or more than MaxEmptyAhead after Now.
func (s *Sensors) Empty(binID string, t time.Time) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emptyAt(binID, t)
}

// EmptyNotBefore empties binID as Empty does, at t or, if the simulation
// has already passed t, at Now, so that no reading sent before shows the
// bin full after it was emptied (a demo's crews and sensors run on their
// own ticks). It returns the time used and the bin's true fill just
// before. Errors as Empty's.
func (s *Sensors) EmptyNotBefore(binID string, t time.Time) (time.Time, float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Unix(s.now, 0); t.Before(now) {
		t = now
	}
	fill, err := s.emptyAt(binID, t)
	return t, fill, err
}

func (s *Sensors) emptyAt(binID string, t time.Time) (float64, error) {
	i, ok := s.binIndex(binID)
	if !ok {
		return 0, civic.Errorf(civic.NotFound, "no bin %q in the simulated city", binID)
	}
	tt := t.Unix()
	if tt > s.now+int64(MaxEmptyAhead/time.Second) {
		return 0, civic.FieldError("time", "%s is more than %v after the simulation time %s",
			t.UTC().Format(time.RFC3339), MaxEmptyAhead, time.Unix(s.now, 0).UTC().Format(time.RFC3339))
	}
	if tt < s.start {
		return 0, civic.FieldError("time", "%s is before the simulation start", t.UTC().Format(time.RFC3339))
	}
	b := &s.bins[i]
	if tt >= b.t {
		s.advance(b, tt)
		before := b.fill
		s.empty(b)
		return before, nil
	}
	// The waste since tt is put back; the ledger counts as collected only
	// what leaves the bin now, so it stays balanced.
	since := s.integral(b, tt, b.t)
	before := math.Max(0, b.fill-since)
	now := b.fill
	s.empty(b)
	refill := math.Min(now, b.fill+since)
	b.collected -= refill - b.fill
	b.fill = refill
	return before, nil
}

// AddEvent schedules e. It fails with civic.Invalid if e's kind is unknown,
// its zone or bin does not exist, or it ends before it starts.
func (s *Sensors) AddEvent(e Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := event{Event: e, start: e.Start.Unix(), end: e.End.Unix(), zone: -1, bin: -1}
	if ev.end <= ev.start {
		return civic.FieldError("end", "must be after start")
	}
	switch e.Kind {
	case EventStreetFair:
		z, ok := s.zoneIx[e.Zone]
		if !ok {
			return civic.FieldError("zone", "no zone %q in the simulated city", e.Zone)
		}
		if e.Factor < 0 || math.IsNaN(e.Factor) || math.IsInf(e.Factor, 0) {
			return civic.FieldError("factor", "must be a positive number")
		}
		if ev.Factor == 0 {
			ev.Factor = DefaultFairFactor
		}
		ev.zone = z
		// The cached rate segments may span the event's edges.
		for i := range s.bins {
			if s.bins[i].zone == z {
				s.bins[i].segEnd = math.MinInt64
			}
		}
	case EventFire, EventStuck:
		b, ok := s.binIndex(e.Bin)
		if !ok {
			return civic.FieldError("bin", "no bin %q in the simulated city", e.Bin)
		}
		ev.bin = b
	default:
		return civic.FieldError("kind", "must be one of street_fair, fire, stuck")
	}
	s.events = append(s.events, ev)
	return nil
}

// Events returns the events that overlap [from, to): the scheduled street
// fairs and the events added with AddEvent, in order of start. Random
// faults (SensorParams.Faults) are not events and are not listed.
func (s *Sensors) Events(from, to time.Time) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, t := from.Unix(), to.Unix()
	var out []Event
	if s.fairWeeks > 0 && t > f {
		for day, last := s.localDay(f)-1, s.localDay(t); day <= last; day++ {
			start, end, zone, ok := s.fairOn(day)
			if ok && start < t && end > f {
				out = append(out, Event{Kind: EventStreetFair, Zone: s.city.Zones[zone].ID,
					Start: time.Unix(start, 0).UTC(), End: time.Unix(end, 0).UTC(), Factor: DefaultFairFactor})
			}
		}
	}
	for _, e := range s.events {
		if e.start < t && e.end > f {
			out = append(out, e.Event)
		}
	}
	sortEvents(out)
	return out
}

func sortEvents(es []Event) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Start.Before(es[j-1].Start); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// TrueFill returns binID's true fill (0..1) at Now, or NaN for an unknown
// bin.
func (s *Sensors) TrueFill(binID string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok {
		return math.NaN()
	}
	b := &s.bins[i]
	return math.Min(1, b.fill+s.integral(b, b.t, max(s.now, b.t)))
}

// EmptiedBefore returns when binID was last emptied before the simulation
// started, by the model's reckoning: its fill at the start took that long
// to gather at its mean rate. A city loading a simulated history records it
// as each bin's last collection, so that its planner does not take every
// bin for one never emptied. It reports false for an unknown bin.
func (s *Sensors) EmptiedBefore(binID string) (time.Time, bool) {
	i, ok := s.binIndex(binID)
	if !ok {
		return time.Time{}, false
	}
	b := &s.bins[i] // fill0 and meanRate are set once in NewSensors
	hours := b.fill0 / b.meanRate
	return time.Unix(s.start, 0).UTC().Add(-time.Duration(hours * float64(time.Hour))).Truncate(time.Second), true
}

// TrueRate returns binID's true fill rate at t, as a fraction of its
// capacity per hour (before the cap at full), or NaN for an unknown bin.
// It depends only on the seed, the bin, t and the street fairs (scheduled
// and added), not on the simulation's progress: it may be asked about any
// time, past or future.
func (s *Sensors) TrueRate(binID string, t time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok {
		return math.NaN()
	}
	rate, _ := s.rateAt(&s.bins[i], t.Unix())
	return rate
}

// MeanRate returns binID's weekly mean fill rate as a fraction of its
// capacity per hour (what TrueRate averages to over weeks without events),
// or NaN for an unknown bin.
func (s *Sensors) MeanRate(binID string) float64 {
	i, ok := s.binIndex(binID)
	if !ok {
		return math.NaN()
	}
	return s.bins[i].meanRate // set once in NewSensors
}

// ScheduleDays returns the interval of binID's fixed schedule in days (0
// for twice a day) under PolicyFixed, or -1 under another policy or for an
// unknown bin.
func (s *Sensors) ScheduleDays(binID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok || s.p.Policy.Kind != PolicyFixed {
		return -1
	}
	return s.bins[i].every
}
