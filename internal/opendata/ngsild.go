package opendata

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// NGSI-LD (ETSI GS CIM 009) as civic speaks it: bins are WasteContainer
// entities (internal/assets maps them). A client asking for
// application/ld+json gets each entity's @context in the body; any other
// client gets application/json and the context in a Link header, as the
// API specifies. Entities are normalized unless options=keyValues.
const (
	ngsiDefaultLimit = 20
	ngsiMaxLimit     = 1000
	ngsiErrors       = "https://uri.etsi.org/ngsi-ld/errors/"
	jsonLDContextRel = "http://www.w3.org/ns/json-ld#context"
)

// ngsiTypes are the names a WasteContainer query may give its type.
var ngsiTypes = []string{"WasteContainer", "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"}

// ngsiUnsupported are NGSI-LD query parameters civic does not implement:
// answering without them would return more than was asked for.
var ngsiUnsupported = []string{"q", "attrs", "pick", "omit", "georel", "geometry", "coordinates", "geoproperty", "csf",
	"scopeQ", "lang", "idPattern", "datasetId", "geometryProperty", "local", "join", "joinLevel"}

func (p *Portal) ngsiError(w http.ResponseWriter, r *http.Request, status int, kind, detail string) {
	b, _ := json.Marshal(map[string]any{"type": ngsiErrors + kind, "title": http.StatusText(status), "status": status, "detail": detail})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ngsiForm reads the Accept header: JSON-LD, or plain JSON with a Link.
func ngsiForm(r *http.Request) (ld, ok bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/ld+json":
			return true, true
		case "application/json", "application/*", "*/*", "application/geo+json":
			ok = true
		}
	}
	return false, ok
}

// ngsiOptions reads options (and the older format) for keyValues.
func ngsiOptions(r *http.Request) (keyValues bool) {
	for _, o := range strings.Split(r.URL.Query().Get("options")+","+r.URL.Query().Get("format"), ",") {
		switch strings.TrimSpace(o) {
		case "keyValues", "simplified":
			keyValues = true
		}
	}
	return keyValues
}

func (p *Portal) ngsiWrite(w http.ResponseWriter, r *http.Request, ld bool, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.ngsiError(w, r, http.StatusInternalServerError, "InternalError", "internal error")
		p.log.Error("opendata: NGSI-LD encoding", "err", err)
		return
	}
	h := w.Header()
	if ld {
		h.Set("Content-Type", "application/ld+json")
	} else {
		h.Set("Content-Type", "application/json")
		h.Set("Link", "<"+assets.WasteManagementContext+`>; rel="`+jsonLDContextRel+`"; type="application/ld+json"`)
	}
	h.Set("Cache-Control", "no-cache")
	w.Write(b)
}

// serveEntities is GET /ngsi-ld/v1/entities.
func (p *Portal) serveEntities(w http.ResponseWriter, r *http.Request) {
	if p.bins == nil {
		p.ngsiError(w, r, http.StatusServiceUnavailable, "InternalError", "NGSI-LD is not enabled on this server")
		return
	}
	ld, ok := ngsiForm(r)
	if !ok {
		p.ngsiError(w, r, http.StatusNotAcceptable, "NotAcceptable", "this endpoint answers application/json or application/ld+json")
		return
	}
	v := r.URL.Query()
	for _, u := range ngsiUnsupported {
		if v.Has(u) {
			p.ngsiError(w, r, http.StatusBadRequest, "BadRequestData", "the query parameter "+u+" is not supported by civic (supported: type, id, limit, offset, count, options)")
			return
		}
	}
	typ, ids := v.Get("type"), v.Get("id")
	if typ == "" && ids == "" {
		p.ngsiError(w, r, http.StatusBadRequest, "BadRequestData", "give type (WasteContainer) or id")
		return
	}
	limit, offset := ngsiDefaultLimit, 0
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > ngsiMaxLimit {
			p.ngsiError(w, r, http.StatusBadRequest, "BadRequestData", "limit must be a whole number from 0 to "+strconv.Itoa(ngsiMaxLimit))
			return
		}
		limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxOffset {
			p.ngsiError(w, r, http.StatusBadRequest, "BadRequestData", "offset must be a whole number from 0")
			return
		}
		offset = n
	}
	count := v.Get("count") == "true"
	if typ != "" && !slices.ContainsFunc(strings.Split(typ, ","), func(t string) bool { return slices.Contains(ngsiTypes, strings.TrimSpace(t)) }) {
		// No entity of another type lives here: an empty result.
		if count {
			w.Header().Set("NGSILD-Results-Count", "0")
		}
		p.ngsiWrite(w, r, ld, []any{})
		return
	}
	var bins []civic.BinView
	var err error
	if ids != "" {
		for _, id := range strings.Split(ids, ",") {
			b, err := p.bins.Bin(r.Context(), binIDOf(strings.TrimSpace(id)))
			if civic.IsKind(err, civic.NotFound) {
				continue
			}
			if err != nil {
				p.ngsiFail(w, r, err)
				return
			}
			bins = append(bins, b)
		}
	} else if count || limit > 0 {
		bins, err = p.bins.ListBins(r.Context(), civic.BinFilter{})
		if err != nil {
			p.ngsiFail(w, r, err)
			return
		}
	}
	if count {
		w.Header().Set("NGSILD-Results-Count", strconv.Itoa(len(bins)))
	}
	bins = bins[min(offset, len(bins)):]
	bins = bins[:min(limit, len(bins))]
	out := make([]json.Marshaler, len(bins))
	for i := range bins {
		out[i] = assets.WasteContainerEntity(&bins[i], !ngsiOptions(r), ld)
	}
	p.ngsiWrite(w, r, ld, out)
}

// serveEntity is GET /ngsi-ld/v1/entities/{id}.
func (p *Portal) serveEntity(w http.ResponseWriter, r *http.Request) {
	if p.bins == nil {
		p.ngsiError(w, r, http.StatusServiceUnavailable, "InternalError", "NGSI-LD is not enabled on this server")
		return
	}
	ld, ok := ngsiForm(r)
	if !ok {
		p.ngsiError(w, r, http.StatusNotAcceptable, "NotAcceptable", "this endpoint answers application/json or application/ld+json")
		return
	}
	id := r.PathValue("id")
	if !strings.HasPrefix(id, assets.WasteContainerIDPrefix) {
		p.ngsiError(w, r, http.StatusNotFound, "ResourceNotFound", "no entity "+strconv.Quote(clip(id))+": civic's entities are "+assets.WasteContainerIDPrefix+"{bin id}")
		return
	}
	b, err := p.bins.Bin(r.Context(), binIDOf(id))
	if civic.IsKind(err, civic.NotFound) {
		p.ngsiError(w, r, http.StatusNotFound, "ResourceNotFound", "no entity "+strconv.Quote(clip(id)))
		return
	}
	if err != nil {
		p.ngsiFail(w, r, err)
		return
	}
	p.ngsiWrite(w, r, ld, assets.WasteContainerEntity(&b, !ngsiOptions(r), ld))
}

func (p *Portal) ngsiFail(w http.ResponseWriter, r *http.Request, err error) {
	if civic.KindOf(err) == civic.Unavailable {
		p.ngsiError(w, r, http.StatusServiceUnavailable, "InternalError", civic.MessageOf(err))
		return
	}
	p.log.Error("opendata: NGSI-LD", "path", r.URL.Path, "err", err)
	p.ngsiError(w, r, http.StatusInternalServerError, "InternalError", "internal error")
}

func binIDOf(entityID string) string {
	return strings.TrimPrefix(entityID, assets.WasteContainerIDPrefix)
}
