package civic

import (
	"testing"
	"time"
)

func TestAssess(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	low, fine := 0.1, 0.8
	tests := []struct {
		name      string
		h         DeviceHealth
		intervals float64
		offline   bool
		status    HealthStatus
	}{
		{"ok", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(10 * time.Minute), Battery: &fine}, 0, false, HealthOK},
		{"just within 3 intervals", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(45 * time.Minute)}, 0, false, HealthOK},
		{"past 3 intervals", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(46 * time.Minute)}, 0, true, HealthOffline},
		{"past 3, within 4", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(46 * time.Minute)}, 4, false, HealthOK},
		{"default interval", DeviceHealth{DeviceStatus: StatusActive, LastSeen: at(46 * time.Minute)}, 0, true, HealthOffline},
		{"low battery", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(time.Minute), Battery: &low}, 0, false, HealthLowBattery},
		{"offline beats low battery", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(time.Hour), Battery: &low}, 0, true, HealthOffline},
		{"never seen, new", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, RegisteredAt: now.Add(-time.Minute)}, 0, false, HealthNeverSeen},
		{"never seen, long registered", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, RegisteredAt: now.Add(-time.Hour)}, 0, true, HealthNeverSeen},
		{"undecodable uplinks keep it online", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(2 * time.Hour),
			LastDecodeFailure: at(time.Minute)}, 0, false, HealthDecodeErrors},
		{"decode failure before the last reading", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastSeen: at(time.Minute),
			LastDecodeFailure: at(time.Hour), Battery: &low}, 0, false, HealthLowBattery},
		{"only undecodable uplinks", DeviceHealth{DeviceStatus: StatusActive, ExpectedInterval: 900, LastDecodeFailure: at(time.Minute)}, 0, false, HealthDecodeErrors},
		{"inactive is never offline", DeviceHealth{DeviceStatus: StatusInactive, ExpectedInterval: 900, LastSeen: at(48 * time.Hour)}, 0, false, HealthInactive},
		{"maintenance", DeviceHealth{DeviceStatus: StatusMaintenance, ExpectedInterval: 900}, 0, false, HealthInactive},
	}
	for _, tt := range tests {
		h := tt.h
		h.Assess(now, tt.intervals)
		if h.Offline != tt.offline || h.Status != tt.status {
			t.Errorf("%s: offline %v, status %q; want %v, %q", tt.name, h.Offline, h.Status, tt.offline, tt.status)
		}
	}
}

func TestDeviceEventValidate(t *testing.T) {
	now := time.Now()
	two := 2.0
	for _, tt := range []struct {
		e     DeviceEvent
		field string
	}{
		{DeviceEvent{Device: "S-1", Time: now, Kind: "join"}, ""},
		{DeviceEvent{Time: now, Kind: "join"}, "device"},
		{DeviceEvent{Device: "S-1", Kind: "join"}, "time"},
		{DeviceEvent{Device: "S-1", Time: now}, "kind"},
		{DeviceEvent{Device: "S-1", Time: now, Kind: "status", Battery: &two}, "battery"},
	} {
		err := tt.e.Validate()
		if (err == nil) != (tt.field == "") || FieldOf(err) != tt.field {
			t.Errorf("Validate(%+v) = %v, want field %q", tt.e, err, tt.field)
		}
	}
}
