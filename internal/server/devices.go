package server

import (
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// devices serves /api/v1/devices: the sensors, usually mounted on bins.
func (s *Server) devices() *resource[civic.Device] {
	st := s.store
	return &resource[civic.Device]{
		s: s, name: "device",
		list: st.ListDevices, get: st.Device,
		// Caches of the registry (ingest's) hear of changes from the
		// store itself (cmd/civic wires its change hook).
		create: st.CreateDevice, update: st.UpdateDevice, delete: st.DeleteDevice,
		id: func(d *civic.Device) *string { return &d.ID },
		prepare: func(old, d *civic.Device) {
			d.Normalize()
			// The API never carries the MQTT secret: keep the stored one.
			d.SecretHash = ""
			if old != nil {
				d.SecretHash = old.SecretHash
			}
		},
	}
}

// deviceSecret is the answer to POST /api/v1/devices/{id}/secret.
type deviceSecret struct {
	Device string `json:"device"`
	Secret string `json:"secret"`
}

// handleDeviceSecret makes a new MQTT password for a device, replacing any
// earlier one. The secret is in this answer only; civic keeps its hash.
func (s *Server) handleDeviceSecret(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermWriteAssets); err != nil {
		return err
	}
	d, err := s.store.Device(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	secret, hash, err := s.auth.NewSecret()
	if err != nil {
		return err
	}
	d.SecretHash = hash
	if err := s.store.UpdateDevice(r.Context(), &d); err != nil {
		return err
	}
	s.audit(r, "device.secret", "device/"+d.ID, "new MQTT secret")
	writeJSON(w, http.StatusCreated, deviceSecret{Device: d.ID, Secret: secret})
	return nil
}
