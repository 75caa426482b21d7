package ingest

import (
	"sort"

	"github.com/civic-city/civic/internal/civic"
)

// PayloadDecoder decodes the bytes of a LoRaWAN frame (or any binary
// uplink) received on fport into measurements. It sets only measurement
// fields of the returned reading, never Device, Time or Bin, and returns the
// scale its Fill is in (fill scales differ between formats, and ingest
// converts to the device's declared scale). A decoder must not keep
// payload, must not panic, and fails with civic.Invalid naming the problem.
type PayloadDecoder func(fport int, payload []byte) (m civic.Reading, fill civic.FillScale, err error)

// Decoders maps civic.Device.PayloadFormat names to byte decoders.
type Decoders map[string]PayloadDecoder

// NewDecoders returns the formats civic ships. Each format lives in its own
// file (payload_<name>.go) and is listed here; the list is explicit so that
// nothing registers itself behind the program's back.
func NewDecoders() Decoders {
	return Decoders{
		CivicV1: DecodeCivicV1,
	}
}

// Names returns the format names, sorted, for help texts and validation.
func (ds Decoders) Names() []string {
	names := make([]string, 0, len(ds))
	for n := range ds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Decode decodes payload with the named format. An unknown format is a
// civic.Invalid error on field "payload_format".
func (ds Decoders) Decode(format string, fport int, payload []byte) (civic.Reading, civic.FillScale, error) {
	dec, ok := ds[format]
	if !ok || dec == nil {
		if format == "" {
			return civic.Reading{}, "", civic.FieldError("payload_format", "the device has no payload format")
		}
		return civic.Reading{}, "", civic.FieldError("payload_format", "unknown payload format %q", format)
	}
	return dec(fport, payload)
}
