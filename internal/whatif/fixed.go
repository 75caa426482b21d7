package whatif

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// maxFixedDays is the longest interval a fixed schedule may set.
const maxFixedDays = 28

// FixedSchedule is a configured fixed schedule: every how many days each
// bin is emptied, by zone and stream. 1 means Monday to Saturday and 0
// twice a day; bins on an interval of several days are spread over its
// days.
type FixedSchedule struct {
	Days    int                  // every bin's, unless a stream or a zone says otherwise
	Streams map[civic.Stream]int // a stream's, over Days
	Zones   map[string]int       // "zone/stream", over Streams
}

// Every returns b's interval in days.
func (f *FixedSchedule) Every(b civic.Bin) int {
	if d, ok := f.Zones[b.ZoneID+"/"+string(b.Stream)]; ok {
		return d
	}
	if d, ok := f.Streams[b.Stream]; ok {
		return d
	}
	return f.Days
}

// ParseFixedSchedule reads "N[,stream=N][,zone/stream=N]...": every bin's
// interval in days, then a stream's, then a zone and stream's, each from 0
// (twice a day) to 28. Errors name the part that is wrong.
func ParseFixedSchedule(spec string) (*FixedSchedule, error) {
	days := func(s string) (int, error) {
		d, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || d < 0 || d > maxFixedDays {
			return 0, fmt.Errorf("%q is not a number of days from 0 (twice a day) to %d", s, maxFixedDays)
		}
		return d, nil
	}
	parts := strings.Split(spec, ",")
	f := &FixedSchedule{Streams: map[civic.Stream]int{}, Zones: map[string]int{}}
	var err error
	if f.Days, err = days(parts[0]); err != nil {
		return nil, err
	}
	for _, part := range parts[1:] {
		key, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not stream=days or zone/stream=days", part)
		}
		d, err := days(v)
		if err != nil {
			return nil, err
		}
		zone, stream, inZone := strings.Cut(strings.TrimSpace(key), "/")
		if !inZone {
			stream = zone
		}
		st := civic.Stream(stream)
		if !st.Valid() {
			return nil, fmt.Errorf("%q: %q is not a stream (%s)", part, stream, civic.Streams)
		}
		if !inZone {
			f.Streams[st] = d
			continue
		}
		if zone == "" {
			return nil, fmt.Errorf("%q: the zone is empty", part)
		}
		f.Zones[zone+"/"+stream] = d
	}
	return f, nil
}

// String says the schedule in words.
func (f *FixedSchedule) String() string {
	every := func(d int) string {
		switch d {
		case 0:
			return "twice a day"
		case 1:
			return "every day (Monday to Saturday)"
		}
		return fmt.Sprintf("every %d days", d)
	}
	parts := []string{"every bin " + every(f.Days)}
	for _, st := range slices.Sorted(maps.Keys(f.Streams)) {
		parts = append(parts, fmt.Sprintf("%s %s", st, every(f.Streams[st])))
	}
	for _, k := range slices.Sorted(maps.Keys(f.Zones)) {
		zone, stream, _ := strings.Cut(k, "/")
		parts = append(parts, fmt.Sprintf("%s in zone %s %s", stream, zone, every(f.Zones[k])))
	}
	return strings.Join(parts, "; ")
}
