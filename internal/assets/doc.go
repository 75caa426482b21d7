// Package assets reads and writes civic's asset files: bins as CSV, GeoJSON
// (RFC 7946) and FIWARE Smart Data Models WasteContainer entities in
// NGSI-LD (key-values or normalized), and zones as GeoJSON.
//
// The functions are pure: they read an io.Reader or write an io.Writer and
// touch no database. A reader either returns every record of a file, each
// one normalized and valid, or an error and no records at all, so a caller
// never imports half a file. Errors about the content are *RowError values
// that name the file, the line or JSON path and the field, and wrap a
// civic.Invalid error (civic.TooLarge for a file over MaxFileBytes).
// Readers leave CreatedAt and UpdatedAt zero: the store sets them.
//
// # FIWARE WasteContainer
//
// civic maps a bin and its latest state to a WasteContainer entity of the
// Smart Data Models subject dataModel.WasteManagement (schema 0.3.0):
//
//	civic                  WasteContainer attribute
//	id                     id "urn:ngsi-ld:WasteContainer:<id>", type "WasteContainer"
//	name                   name
//	lat, lon               location: GeoJSON Point [lon, lat] (GeoProperty)
//	address                address.streetAddress
//	serial                 serialNumber
//	stream                 storedWasteKind: trash=other, recycling=inorganic, paper=paper,
//	                       bottles_cans=plastic, compost=organic
//	capacity_l             binCapacity in litres (unitCode LTR when normalized)
//	full_threshold         binFullnessThreshold in percent (unitCode P1); read back, a value <= 1 is a fraction
//	model                  refWasteContainerModel "urn:ngsi-ld:WasteContainerModel:<model, path-escaped>" (Relationship)
//	zone_id                areaServed
//	installed_on           dateServiceStarted (midnight UTC)
//	compacting             compacting (civic extension: the model has no such attribute)
//	access_window          accessWindow "HH:MM-HH:MM" (civic extension, written when set)
//	status                 serviceStatus (civic extension: the model's status is about safety)
//	created_at, updated_at dateCreated, dateModified (written only)
//	state.fill             fillingLevel, a 0..1 fraction
//	state.temperature_c    temperature (unitCode CEL)
//	state fire / door open / tilt >= 45°
//	                       status burning / lidOpen / dropped, else ok
//	state.time             binLoggedTime, and observedAt of the measurements when normalized
//	state.device           refDevice ["urn:ngsi-ld:Device:<device>"] (one Relationship when normalized)
//
// Every entity carries "@context": [WasteManagementContext, NGSILDCoreContext].
// Reading maps the same attributes back, accepts the NGSI v2 forms of the
// Smart Data Models examples as well, and ignores every other attribute,
// the state ones included: it returns bins, not readings.
package assets
