package assets

import (
	"io"

	"github.com/civic-city/civic/internal/civic"
)

// The NGSI-LD identifiers of collection events.
const (
	// WasteObservedIDPrefix prefixes a collection id to make its entity id.
	WasteObservedIDPrefix = "urn:ngsi-ld:WasteObserved:"
	// VehicleIDPrefix prefixes a truck id to make refGarbageTruck's object.
	VehicleIDPrefix = "urn:ngsi-ld:Vehicle:"
	// WorkOrderIDPrefix prefixes a plan's route id to make
	// refServiceOrderId's object: the route is the crew's work order.
	WorkOrderIDPrefix = "urn:ngsi-ld:WorkOrder:"
)

// WriteWasteObserved writes collections as a JSON array of FIWARE
// WasteObserved entities (a bin emptied) in the NGSI-LD key-values form,
// each with its @context: dateObserved is the collection's time, location
// the bin's position (when bins has the bin), refGarbageTruck the truck,
// refServiceOrderId the route, and refWasteContainer, an attribute of
// civic's own, the bin emptied. fillingLevel (0..1) is the sensor's last
// fill before the collection, or else the crew's estimate. The model has
// no weights civic knows, so weight and its siblings are left out.
func WriteWasteObserved(w io.Writer, cs []civic.Collection, bins map[string]civic.BinView) error {
	entities := make([]object, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		e := object{
			{"id", WasteObservedIDPrefix + c.ID},
			{"type", "WasteObserved"},
			{"dateObserved", formatTime(c.Time)},
		}
		if b, ok := bins[c.BinID]; ok {
			e = append(e, member{"location", object{{"type", "Point"}, {"coordinates", []float64{b.Lon, b.Lat}}}})
			if b.Address != "" {
				e = append(e, member{"address", object{{"streetAddress", b.Address}}})
			}
		}
		e = append(e, member{"refWasteContainer", WasteContainerIDPrefix + c.BinID})
		if c.TruckID != "" {
			e = append(e, member{"refGarbageTruck", VehicleIDPrefix + c.TruckID})
		}
		if c.RouteID != "" {
			e = append(e, member{"refServiceOrderId", WorkOrderIDPrefix + c.RouteID})
		}
		switch {
		case c.FillBefore != nil:
			e = append(e, member{"fillingLevel", round15(*c.FillBefore)})
		case c.FillSeen != nil:
			e = append(e, member{"fillingLevel", round15(*c.FillSeen)})
		}
		e = append(e, member{"source", "civic:" + c.Source})
		e = append(e, member{"@context", []string{WasteManagementContext, NGSILDCoreContext}})
		entities = append(entities, e)
	}
	return writeJSON(w, entities)
}
