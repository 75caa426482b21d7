package server

import (
	"context"
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// devices serves /api/v1/devices: the sensors, usually mounted on bins.
func (s *Server) devices() *resource[civic.Device] {
	st := s.store
	return &resource[civic.Device]{
		s: s, name: "device",
		list: st.ListDevices, get: st.Device,
		// Ingest caches the registry: tell it when a device changes so
		// a new, moved or retired sensor is seen at once.
		create: func(ctx context.Context, d *civic.Device) error {
			return s.forgetAfter(d.ID, st.CreateDevice(ctx, d))
		},
		update: func(ctx context.Context, d *civic.Device) error {
			return s.forgetAfter(d.ID, st.UpdateDevice(ctx, d))
		},
		delete: func(ctx context.Context, id string) error {
			return s.forgetAfter(id, st.DeleteDevice(ctx, id))
		},
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

// forgetAfter tells Deps.ForgetDevice about a changed device when the
// change succeeded, and returns err.
func (s *Server) forgetAfter(id string, err error) error {
	if err == nil && s.forgetDevice != nil {
		s.forgetDevice(id)
	}
	return err
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
