package server

import (
	"net/http"
	"strconv"

	"github.com/civic-city/civic/internal/civic"
)

// deviceView is a device as GET /api/v1/devices answers it: the registry
// entry and, with health=true, its health.
type deviceView struct {
	civic.Device
	Health *civic.DeviceHealth `json:"health,omitempty"`
}

// wantHealth reads the health query parameter.
func wantHealth(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("health")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, civic.FieldError("health", "must be true or false")
	}
	return b, nil
}

// healthStore returns the device health store, or Unavailable.
func (s *Server) healthStore() (civic.DeviceHealthStore, error) {
	if s.health == nil {
		return nil, civic.Errorf(civic.Unavailable, "device health is not available on this server")
	}
	return s.health, nil
}

// assess re-assesses h with the configured offline threshold (the store
// uses the default).
func (s *Server) assess(h *civic.DeviceHealth) {
	if s.cfg.OfflineIntervals > 0 {
		h.Assess(s.now(), s.cfg.OfflineIntervals)
	}
}

// handleListDevices lists the devices; with health=true each carries its
// health (last seen, uplink rate, battery and trend, signal, gateway,
// decode failures, offline).
func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	withHealth, err := wantHealth(r)
	if err != nil {
		return err
	}
	devs, err := s.store.ListDevices(r.Context())
	if err != nil {
		return err
	}
	items := make([]deviceView, len(devs))
	for i, d := range devs {
		items[i].Device = d
	}
	if withHealth {
		hs, err := s.healthStore()
		if err != nil {
			return err
		}
		health, err := hs.DeviceHealth(r.Context(), s.now())
		if err != nil {
			return err
		}
		byID := make(map[string]*civic.DeviceHealth, len(health))
		for i := range health {
			s.assess(&health[i])
			byID[health[i].Device] = &health[i]
		}
		for i := range items {
			// A device created between the two queries has no health yet.
			items[i].Health = byID[items[i].ID]
		}
	}
	writeJSON(w, http.StatusOK, list[deviceView]{Items: items})
	return nil
}

// handleGetDevice returns a device; with health=true, with its health.
func (s *Server) handleGetDevice(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	withHealth, err := wantHealth(r)
	if err != nil {
		return err
	}
	d, err := s.store.Device(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v := deviceView{Device: d}
	if withHealth {
		hs, err := s.healthStore()
		if err != nil {
			return err
		}
		h, err := hs.DeviceHealthOf(r.Context(), d.ID, s.now())
		if err != nil {
			return err
		}
		s.assess(&h)
		v.Health = &h
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deviceEvents is the answer to GET /api/v1/devices/{id}/events.
type deviceEvents struct {
	Device string              `json:"device"`
	Items  []civic.DeviceEvent `json:"items"`
}

// handleDeviceEvents lists a device's events other than readings (LoRaWAN
// joins, status reports, acknowledgements, undecodable uplinks), newest
// first; before (an event id) pages back, limit caps the page (default
// 100, at most 1000).
func (s *Server) handleDeviceEvents(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	var before int64
	if v := q.Get("before"); v != "" {
		before, err = strconv.ParseInt(v, 10, 64)
		if err != nil || before < 1 {
			return civic.FieldError("before", "must be a positive event id")
		}
	}
	hs, err := s.healthStore()
	if err != nil {
		return err
	}
	d, err := s.store.Device(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	evs, err := hs.DeviceEvents(r.Context(), civic.DeviceEventQuery{Device: d.ID, Before: before, Limit: limit})
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []civic.DeviceEvent{}
	}
	writeJSON(w, http.StatusOK, deviceEvents{Device: d.ID, Items: evs})
	return nil
}
