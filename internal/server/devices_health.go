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

// healthRules is what a device's health is judged by besides its own
// data: the alert rules and the open sensor-fault alerts of its bin (the
// definition the fleet page and the alert rules share).
type healthRules struct {
	rules  civic.AlertRules
	faults map[string][]civic.Alert // by bin
	bins   map[string]civic.Bin
}

// loadHealthRules reads the alert rules, the unresolved sensor-fault
// alerts and the bins (all of them, or only bin when it is set).
func (s *Server) loadHealthRules(r *http.Request, bin string) (*healthRules, error) {
	hr := &healthRules{rules: civic.DefaultAlertRules(), faults: map[string][]civic.Alert{}, bins: map[string]civic.Bin{}}
	ctx := r.Context()
	if s.alerts != nil {
		var err error
		if hr.rules, err = s.alerts.AlertRules(ctx); err != nil {
			return nil, err
		}
		open, err := s.alerts.ListAlerts(ctx, civic.AlertFilter{Unresolved: true, Rule: civic.RuleSensorFault, BinID: bin, Limit: 1 << 20})
		if err != nil {
			return nil, err
		}
		for _, a := range open {
			hr.faults[a.BinID] = append(hr.faults[a.BinID], a)
		}
	}
	if bin != "" {
		v, err := s.store.Bin(ctx, bin)
		if err != nil && !civic.IsKind(err, civic.NotFound) {
			return nil, err
		}
		hr.bins[bin] = v.Bin
		return hr, nil
	}
	views, err := s.store.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		hr.bins[v.ID] = v.Bin
	}
	return hr, nil
}

// assess re-assesses h with the thresholds of the alert rules of its
// bin (a configured offline threshold wins) and notes its bin's open
// sensor faults.
func (s *Server) assess(h *civic.DeviceHealth, hr *healthRules) {
	b := hr.bins[h.BinID]
	b.ID = h.BinID
	lim := hr.rules.For(&b).HealthLimits()
	if s.cfg.OfflineIntervals > 0 {
		lim.OfflineIntervals = s.cfg.OfflineIntervals
	}
	h.AssessLimits(s.now(), lim)
	h.NoteAlerts(hr.faults[h.BinID])
}

// handleListDevices lists the devices by id, all of them or the page that
// limit and offset select; with health=true each carries its health (last
// seen, uplink rate, battery and trend, signal, gateway, decode failures,
// offline), worked out for the page's devices only.
func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	withHealth, err := wantHealth(r)
	if err != nil {
		return err
	}
	limit, offset, err := listPage(r.URL.Query())
	if err != nil {
		return err
	}
	devs, err := s.store.ListDevicesPage(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	items := make([]deviceView, len(devs))
	for i, d := range devs {
		items[i].Device = d
	}
	if withHealth && len(devs) > 0 {
		hs, err := s.healthStore()
		if err != nil {
			return err
		}
		health, err := hs.DeviceHealthBetween(r.Context(), devs[0].ID, devs[len(devs)-1].ID, s.now())
		if err != nil {
			return err
		}
		hr, err := s.loadHealthRules(r, "")
		if err != nil {
			return err
		}
		byID := make(map[string]*civic.DeviceHealth, len(health))
		for i := range health {
			s.assess(&health[i], hr)
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
		hr, err := s.loadHealthRules(r, h.BinID)
		if err != nil {
			return err
		}
		s.assess(&h, hr)
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
