package ingest

import (
	"encoding/binary"
	"math"

	"github.com/civic-city/civic/internal/civic"
)

// CivicV1 is the name of civic's own compact uplink format, for devices
// whose firmware the city controls and for the simulator.
//
// A civic-v1 frame is 9 or 11 bytes, big-endian, on any fport:
//
//	byte 0     version, always 0x01
//	byte 1     flags: bit 0 fire, bit 1 door/lid open; bits 2-7 reserved (sent as 0, ignored)
//	bytes 2-3  distance from sensor to waste in mm, uint16; 0xFFFF = not measured
//	byte 4     fill level in percent, 0..100; 0xFF = not measured
//	byte 5     battery in percent, 0..100; 0xFF = not measured
//	bytes 6-7  temperature in 0.1 °C, int16; 0x8000 = not measured
//	byte 8     tilt from upright in degrees, 0..180; 0xFF = not measured
//	bytes 9-10 (optional) compaction count since install, uint16
//
// Fire and door open are always reported. Fill is decoded on the percent
// scale.
const CivicV1 = "civic-v1"

// civic-v1 "not measured" markers.
const (
	civicV1NoDistance = 0xFFFF
	civicV1NoByte     = 0xFF
	civicV1NoTemp     = -0x8000
)

// DecodeCivicV1 decodes a civic-v1 frame; see CivicV1 for the layout. It
// fails with civic.Invalid (field "payload") on a wrong length, version or
// out-of-range value.
func DecodeCivicV1(_ int, b []byte) (civic.Reading, civic.FillScale, error) {
	var r civic.Reading
	if len(b) != 9 && len(b) != 11 {
		return r, "", civic.FieldError("payload", "civic-v1 frames are 9 or 11 bytes, got %d", len(b))
	}
	if b[0] != 1 {
		return r, "", civic.FieldError("payload", "civic-v1 frame has version %d, want 1", b[0])
	}
	fire, door := b[1]&1 != 0, b[1]&2 != 0
	r.Fire, r.DoorOpen = &fire, &door
	if d := binary.BigEndian.Uint16(b[2:4]); d != civicV1NoDistance {
		r.DistanceMM = ptr(float64(d))
	}
	if b[4] != civicV1NoByte {
		if b[4] > 100 {
			return r, "", civic.FieldError("payload", "civic-v1 fill %d%% is over 100", b[4])
		}
		r.Fill = ptr(float64(b[4]))
	}
	if b[5] != civicV1NoByte {
		if b[5] > 100 {
			return r, "", civic.FieldError("payload", "civic-v1 battery %d%% is over 100", b[5])
		}
		r.Battery = ptr(float64(b[5]) / 100)
	}
	if t := int16(binary.BigEndian.Uint16(b[6:8])); t != civicV1NoTemp {
		r.TemperatureC = ptr(float64(t) / 10)
	}
	if b[8] != civicV1NoByte {
		if b[8] > 180 {
			return r, "", civic.FieldError("payload", "civic-v1 tilt %d° is over 180", b[8])
		}
		r.TiltDeg = ptr(float64(b[8]))
	}
	if len(b) == 11 {
		c := int(binary.BigEndian.Uint16(b[9:11]))
		r.Compactions = &c
	}
	return r, civic.ScalePercent, nil
}

// EncodeCivicV1 encodes the measurements of r as a civic-v1 frame, for the
// simulator, benchmarks and tests. r.Fill is a 0..1 fraction and r.Battery
// 0..1, as stored; values are rounded and clamped to what the format holds.
// The frame is 11 bytes when r.Compactions is set, else 9.
func EncodeCivicV1(r civic.Reading) []byte {
	n := 9
	if r.Compactions != nil {
		n = 11
	}
	b := make([]byte, n)
	b[0] = 1
	if r.Fire != nil && *r.Fire {
		b[1] |= 1
	}
	if r.DoorOpen != nil && *r.DoorOpen {
		b[1] |= 2
	}
	dist := uint16(civicV1NoDistance)
	if r.DistanceMM != nil {
		dist = uint16(clamp(*r.DistanceMM, 0, civicV1NoDistance-1))
	}
	binary.BigEndian.PutUint16(b[2:4], dist)
	b[4], b[5], b[8] = civicV1NoByte, civicV1NoByte, civicV1NoByte
	if r.Fill != nil {
		b[4] = byte(clamp(*r.Fill*100, 0, 100))
	}
	if r.Battery != nil {
		b[5] = byte(clamp(*r.Battery*100, 0, 100))
	}
	temp := int16(civicV1NoTemp)
	if r.TemperatureC != nil {
		temp = int16(clamp(*r.TemperatureC*10, civicV1NoTemp+1, math.MaxInt16))
	}
	binary.BigEndian.PutUint16(b[6:8], uint16(temp))
	if r.TiltDeg != nil {
		b[8] = byte(clamp(*r.TiltDeg, 0, 180))
	}
	if r.Compactions != nil {
		binary.BigEndian.PutUint16(b[9:11], uint16(clamp(float64(*r.Compactions), 0, math.MaxUint16)))
	}
	return b
}

// clamp rounds v to the nearest integer within [lo, hi]; NaN becomes lo.
func clamp(v, lo, hi float64) float64 {
	v = math.Round(v)
	if !(v >= lo) {
		return lo
	}
	return math.Min(v, hi)
}

func ptr[T any](v T) *T { return &v }
