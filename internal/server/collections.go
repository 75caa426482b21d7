package server

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// handleListCollections lists collection events (bins emptied), oldest
// first: ?bin=, ?plan=, ?from=&to= (RFC 3339; from inclusive, to
// exclusive), limit (default 1000, at most 10000). format=fiware answers
// with FIWARE WasteObserved entities in NGSI-LD key-values form.
func (s *Server) handleListCollections(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "fiware" {
		return civic.FieldError("format", "must be json or fiware")
	}
	f := civic.CollectionFilter{BinID: q.Get("bin"), PlanID: q.Get("plan")}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return civic.FieldError(p.name, "must be an RFC 3339 time")
			}
			*p.t = t.UTC()
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return civic.FieldError("from", "must be before to")
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 1000, 1, 10000); err != nil {
		return err
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<30); err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	cs, err := ps.ListCollections(r.Context(), f)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []civic.Collection{}
	}
	var next *int
	if len(cs) > limit {
		cs = cs[:limit]
		n := f.Offset + limit
		next = &n
		// Both formats say where the next page starts (RFC 8288).
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(n))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+v.Encode()+`>; rel="next"`)
	}
	if format != "fiware" {
		writeJSON(w, http.StatusOK, collectionPage{Items: cs, NextOffset: next})
		return nil
	}
	bins := map[string]civic.BinView{}
	if len(cs) > 0 {
		all, err := s.store.ListBins(r.Context(), civic.BinFilter{})
		if err != nil {
			return err
		}
		for _, b := range all {
			bins[b.ID] = b
		}
	}
	var buf bytes.Buffer
	if err := assets.WriteWasteObserved(&buf, cs, bins); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/ld+json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// collectionPage is a page of GET /api/v1/collections.
type collectionPage struct {
	Items      []civic.Collection `json:"items"`
	NextOffset *int               `json:"next_offset,omitempty"` // the offset of the next page, when there is one
}
