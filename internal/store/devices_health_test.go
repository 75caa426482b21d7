package store_test

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// healthFixture registers a bin and three devices: H-1 reporting hourly for
// a week with a draining battery, H-2 never heard, H-3 inactive. It returns
// the time of H-1's newest reading.
func healthFixture(t *testing.T, s *store.Store, clk *clock) time.Time {
	t.Helper()
	ctx := context.Background()
	must(t, "CreateBin", s.CreateBin(ctx, testBin("B-H", 42.36, -71.06)))
	for _, d := range []civic.Device{
		{ID: "H-1", BinID: "B-H", ExpectedInterval: 3600, Firmware: "2.1.0", Kind: "ultrasonic"},
		{ID: "H-2", ExpectedInterval: 900},
		{ID: "H-3", ExpectedInterval: 900, Status: civic.StatusInactive},
	} {
		must(t, "CreateDevice "+d.ID, s.CreateDevice(ctx, &d))
	}
	now := clk.Now()
	// 7 days + 1 hour of hourly readings ending 10 minutes ago; the
	// battery drains 0.01 a day down to 0.83; RSSI alternates -100/-110 over
	// the last day and is -80 before.
	var rs []civic.Reading
	last := now.Add(-10 * time.Minute)
	for h := 0; h <= 7*24; h++ {
		at := last.Add(-time.Duration(h) * time.Hour)
		days := last.Sub(at).Hours() / 24
		r := civic.Reading{Device: "H-1", Bin: "B-H", Time: at, Fill: f64(0.5), Battery: f64(0.83 + 0.01*days)}
		if h < 24 {
			r.RSSI, r.SNR = f64(-100-10*float64(h%2)), f64(5)
		} else {
			r.RSSI, r.SNR = f64(-80), f64(9)
		}
		rs = append(rs, r)
	}
	// An old reading outside the week does not count.
	rs = append(rs, civic.Reading{Device: "H-1", Bin: "B-H", Time: now.Add(-30 * 24 * time.Hour), Battery: f64(1)})
	_, err := s.WriteReadings(ctx, [][]civic.Reading{rs})
	must(t, "WriteReadings", err)
	return last
}

func nearly(a *float64, want, tol float64) bool { return a != nil && math.Abs(*a-want) <= tol }

func TestDeviceHealthFromReadings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		last := healthFixture(t, s, clk)
		now := clk.Now()
		hs, err := s.DeviceHealth(ctx, now)
		must(t, "DeviceHealth", err)
		if len(hs) != 3 || hs[0].Device != "H-1" || hs[1].Device != "H-2" || hs[2].Device != "H-3" {
			t.Fatalf("DeviceHealth = %+v, want H-1, H-2, H-3", hs)
		}
		page, err := s.DeviceHealthBetween(ctx, "H-2", "H-3", now)
		must(t, "DeviceHealthBetween", err)
		if !reflect.DeepEqual(page, hs[1:]) {
			t.Errorf("DeviceHealthBetween(H-2, H-3) = %+v, want %+v", page, hs[1:])
		}
		h := hs[0]
		if h.LastSeen == nil || !h.LastSeen.Equal(last) {
			t.Errorf("LastSeen = %v, want %v", h.LastSeen, last)
		}
		// Readings at last, last-1h, ... last-23h are within 24 h of now;
		// the device was registered just now but heard for a week, so the
		// rate is over the whole day.
		if h.Uplinks24h != 24 || math.Abs(h.UplinkRatePerH-1) > 1e-9 {
			t.Errorf("Uplinks24h = %d, rate %g; want 24, 1/h", h.Uplinks24h, h.UplinkRatePerH)
		}
		if !nearly(h.Battery, 0.83, 1e-9) {
			t.Errorf("Battery = %v, want 0.83 (the newest)", ptrStr(h.Battery))
		}
		if !nearly(h.BatteryTrendPerDay, -0.01, 1e-6) {
			t.Errorf("BatteryTrendPerDay = %v, want -0.01", ptrStr(h.BatteryTrendPerDay))
		}
		if !nearly(h.RSSI, -105, 1e-9) || !nearly(h.SNR, 5, 1e-9) {
			t.Errorf("RSSI, SNR = %v, %v; want the last day's means -105, 5", ptrStr(h.RSSI), ptrStr(h.SNR))
		}
		if h.Offline || h.Status != civic.HealthOK || h.Firmware != "2.1.0" || h.BinID != "B-H" || h.Kind != "ultrasonic" ||
			h.ExpectedInterval != 3600 || h.DeviceStatus != civic.StatusActive {
			t.Errorf("H-1 = %+v, want ok, online, with its registry fields", h)
		}
		if n := hs[1]; n.LastSeen != nil || n.Uplinks24h != 0 || n.Battery != nil || n.Offline || n.Status != civic.HealthNeverSeen {
			t.Errorf("H-2 = %+v, want never seen and not yet offline", n)
		}
		if n := hs[2]; n.Offline || n.Status != civic.HealthInactive {
			t.Errorf("H-3 = %+v, want inactive, never offline", n)
		}

		// Three intervals and a bit later, H-1 is offline; H-2, registered
		// more than 3 × 15 min ago and never heard, too; H-3 is not
		// monitored.
		later := last.Add(3*time.Hour + time.Second)
		h, err = s.DeviceHealthOf(ctx, "H-1", later)
		must(t, "DeviceHealthOf", err)
		if !h.Offline || h.Status != civic.HealthOffline {
			t.Errorf("H-1 after 3 h of silence: offline %v, status %q", h.Offline, h.Status)
		}
		h, err = s.DeviceHealthOf(ctx, "H-1", last.Add(3*time.Hour-time.Second))
		must(t, "DeviceHealthOf", err)
		if h.Offline {
			t.Errorf("H-1 offline after just under 3 intervals")
		}
		h, err = s.DeviceHealthOf(ctx, "H-2", now.Add(46*time.Minute))
		must(t, "DeviceHealthOf", err)
		if !h.Offline || h.Status != civic.HealthNeverSeen {
			t.Errorf("H-2 46 min after registration: offline %v, status %q; want offline, never seen", h.Offline, h.Status)
		}
		h, err = s.DeviceHealthOf(ctx, "H-3", now.Add(48*time.Hour))
		must(t, "DeviceHealthOf", err)
		if h.Offline || h.Status != civic.HealthInactive {
			t.Errorf("H-3 = %+v", h)
		}
		_, err = s.DeviceHealthOf(ctx, "NOPE", now)
		wantKind(t, "DeviceHealthOf(NOPE)", err, civic.NotFound)
	})
}

func TestDeviceHealthRateOfNewDevice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateDevice", s.CreateDevice(ctx, &civic.Device{ID: "N-1", ExpectedInterval: 900}))
		clk.Advance(2 * time.Hour)
		now := clk.Now()
		var rs []civic.Reading
		for i := range 8 {
			rs = append(rs, civic.Reading{Device: "N-1", Time: now.Add(-time.Duration(i*15) * time.Minute), Fill: f64(0.1)})
		}
		_, err := s.WriteReadings(ctx, [][]civic.Reading{rs})
		must(t, "WriteReadings", err)
		h, err := s.DeviceHealthOf(ctx, "N-1", now)
		must(t, "DeviceHealthOf", err)
		// Registered 2 h ago: 8 uplinks in 2 h is 4 an hour, not 8/24.
		if h.Uplinks24h != 8 || math.Abs(h.UplinkRatePerH-4) > 1e-9 || h.BatteryTrendPerDay != nil || h.Battery != nil {
			t.Errorf("N-1 = %+v, want 8 uplinks at 4/h, no battery", h)
		}
	})
}

func TestDeviceEventsAndFailures(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		last := healthFixture(t, s, clk)
		now := clk.Now()

		join := civic.DeviceEvent{Device: "H-1", Time: now.Add(-time.Hour), Kind: "join", Detail: map[string]any{"message": "join accepted"}}
		must(t, "RecordDeviceEvent join", s.RecordDeviceEvent(ctx, &join))
		if join.ID == 0 || !join.ReceivedAt.Equal(now) {
			t.Errorf("event after record: %+v, want an id and received_at %v", join, now)
		}
		status := civic.DeviceEvent{Device: "H-1", Time: now.Add(-time.Minute), Kind: "status", Battery: f64(0.1)}
		must(t, "RecordDeviceEvent status", s.RecordDeviceEvent(ctx, &status))
		// An older event reporting a battery does not replace the newer.
		old := civic.DeviceEvent{Device: "H-1", Time: now.Add(-2 * time.Hour), Kind: "status", Battery: f64(0.7)}
		must(t, "RecordDeviceEvent old status", s.RecordDeviceEvent(ctx, &old))
		must(t, "RecordGateway", s.RecordGateway(ctx, "H-1", "gw-7"))

		h, err := s.DeviceHealthOf(ctx, "H-1", now)
		must(t, "DeviceHealthOf", err)
		if !nearly(h.Battery, 0.1, 1e-9) || h.Status != civic.HealthLowBattery || h.Gateway != "gw-7" ||
			h.LastEventKind != "status" || h.LastEvent == nil || !h.LastEvent.Equal(now.Add(-time.Minute)) {
			t.Errorf("H-1 = %+v, want the status event's low battery, gateway gw-7, last event status", h)
		}

		fail := now.Add(-time.Minute / 2)
		must(t, "RecordDecodeFailure", s.RecordDecodeFailure(ctx, "H-1", fail, "civic-v1 frames are 9 or 11 bytes, got 1", map[string]any{"fport": 1}))
		must(t, "RecordDecodeFailure", s.RecordDecodeFailure(ctx, "H-1", fail.Add(-time.Hour), "older", nil))
		h, err = s.DeviceHealthOf(ctx, "H-1", now)
		must(t, "DeviceHealthOf", err)
		if h.DecodeFailures != 2 || h.LastDecodeFailure == nil || !h.LastDecodeFailure.Equal(fail) ||
			h.LastDecodeError != "civic-v1 frames are 9 or 11 bytes, got 1" || h.Status != civic.HealthDecodeErrors {
			t.Errorf("H-1 after decode failures = %+v", h)
		}
		// An undecodable uplink is an uplink: the device is not offline.
		h, err = s.DeviceHealthOf(ctx, "H-1", last.Add(3*time.Hour+time.Minute))
		must(t, "DeviceHealthOf", err)
		if h.Offline {
			t.Errorf("H-1 offline although heard %v ago", last.Add(3*time.Hour+time.Minute).Sub(fail))
		}

		evs, err := s.DeviceEvents(ctx, civic.DeviceEventQuery{Device: "H-1"})
		must(t, "DeviceEvents", err)
		kinds := ""
		for _, e := range evs {
			kinds += e.Kind + " "
		}
		if kinds != "decode_failure decode_failure status status join " {
			t.Fatalf("events newest first = %q", kinds)
		}
		if evs[1].Detail["error"] != "civic-v1 frames are 9 or 11 bytes, got 1" || evs[1].Detail["fport"] != 1.0 ||
			evs[4].Detail["message"] != "join accepted" || !nearly(evs[3].Battery, 0.1, 1e-12) {
			t.Errorf("event details: %+v", evs)
		}
		page, err := s.DeviceEvents(ctx, civic.DeviceEventQuery{Device: "H-1", Before: evs[1].ID, Limit: 2})
		must(t, "DeviceEvents page", err)
		if len(page) != 2 || page[0].ID != evs[2].ID || page[1].ID != evs[3].ID {
			t.Errorf("page before %d = %+v", evs[1].ID, page)
		}
		if evs, err := s.DeviceEvents(ctx, civic.DeviceEventQuery{Device: "H-2"}); err != nil || len(evs) != 0 {
			t.Errorf("events of a quiet device: %v, %v", evs, err)
		}
		_, err = s.DeviceEvents(ctx, civic.DeviceEventQuery{Device: "H-1", Limit: 5000})
		wantKind(t, "DeviceEvents limit", err, civic.Invalid, "limit")
		err = s.RecordDeviceEvent(ctx, &civic.DeviceEvent{Device: "H-1", Kind: "join"})
		wantKind(t, "event without time", err, civic.Invalid, "time")
		err = s.RecordDeviceEvent(ctx, &civic.DeviceEvent{Device: "H-1", Time: now, Kind: "status", Battery: f64(2)})
		wantKind(t, "event battery", err, civic.Invalid, "battery")
	})
}

func ptrStr(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

// TestRecentDeviceHealth: a whole-fleet health computed up to maxAge
// before now is reused (a reading stored since does not show), one older
// or for a later now than asked is not; every device is assessed again as
// of now; the caller's copy is its own.
func TestRecentDeviceHealth(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		now := clk.Now()
		d := civic.Device{ID: "R-1", ExpectedInterval: 60}
		d.Normalize()
		must(t, "CreateDevice", s.CreateDevice(ctx, &d))
		write := func(at time.Time) {
			t.Helper()
			_, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: "R-1", Time: at, Fill: f64(0.5)}}})
			must(t, "WriteReadings", err)
		}
		seen := func(hs []civic.DeviceHealth) time.Time {
			t.Helper()
			if len(hs) != 1 || hs[0].LastSeen == nil {
				t.Fatalf("health %+v, want R-1 heard", hs)
			}
			return *hs[0].LastSeen
		}
		write(now.Add(-time.Minute))
		first, err := s.RecentDeviceHealth(ctx, now, 30*time.Second)
		must(t, "RecentDeviceHealth", err)
		if !seen(first).Equal(now.Add(-time.Minute)) || first[0].Status != civic.HealthOK {
			t.Fatalf("first: %+v", first[0])
		}
		first[0].LastSeen = nil // the caller's copy

		write(now)
		again, err := s.RecentDeviceHealth(ctx, now.Add(20*time.Second), 30*time.Second)
		must(t, "RecentDeviceHealth 20 s later", err)
		if !seen(again).Equal(now.Add(-time.Minute)) || again[0].Status != civic.HealthOK {
			t.Errorf("20 s later: last seen %v, status %q; want the reused %v, ok", seen(again), again[0].Status, now.Add(-time.Minute))
		}
		// Reused for an hour, but assessed as of now: silent for 3
		// expected intervals of a minute, it is offline.
		late, err := s.RecentDeviceHealth(ctx, now.Add(10*time.Minute), time.Hour)
		must(t, "RecentDeviceHealth 10 min later", err)
		if !seen(late).Equal(now.Add(-time.Minute)) || late[0].Status != civic.HealthOffline || !late[0].Offline {
			t.Errorf("10 min later, reused: last seen %v, status %q; want offline", seen(late), late[0].Status)
		}
		fresh, err := s.RecentDeviceHealth(ctx, now.Add(40*time.Second), 30*time.Second)
		must(t, "RecentDeviceHealth 40 s later", err)
		if !seen(fresh).Equal(now) {
			t.Errorf("40 s after the one kept: last seen %v, want the new reading's %v", seen(fresh), now)
		}
		write(now.Add(time.Second))
		earlier, err := s.RecentDeviceHealth(ctx, now.Add(35*time.Second), time.Hour)
		must(t, "RecentDeviceHealth for an earlier now", err)
		if !seen(earlier).Equal(now.Add(time.Second)) {
			t.Errorf("for a now before the one kept: last seen %v, want %v (computed again)", seen(earlier), now.Add(time.Second))
		}
	})
}
