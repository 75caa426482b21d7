package assets

import (
	"encoding/json"

	"github.com/civic-city/civic/internal/civic"
)

// WasteContainerEntity returns bin v as one FIWARE WasteContainer entity,
// mapped as WriteWasteContainersKeyValues (normalized false) or
// WriteWasteContainersNormalized (normalized true) map it, for
// json.Marshal. Without withContext it has no @context member: an NGSI-LD
// API answering application/json sends the context in a Link header
// instead.
func WasteContainerEntity(v *civic.BinView, normalized, withContext bool) json.Marshaler {
	return containerEntity(v, normalized, withContext)
}
