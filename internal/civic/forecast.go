package civic

import (
	"context"
	"time"
)

// Forecast is the predicted fill of one bin: when it is expected to reach
// its full threshold, from an instant, with a band of uncertainty.
type Forecast struct {
	BinID string    `json:"bin_id"`
	Now   time.Time `json:"now"` // the instant forecast from
	// Fill is the estimated fill (0..1) at Now the forecast starts from.
	Fill      float64 `json:"fill"`
	Threshold float64 `json:"threshold"` // the bin's full threshold, 0..1
	// RatePerHour is the expected fill gained per hour, averaged over a
	// week (fill rises faster at some hours of the week than at others).
	RatePerHour float64 `json:"rate_per_hour"`
	// FullAt is when the bin is expected to reach Threshold; FullAtLow and
	// FullAtHigh bound it (about the 10th and 90th percentiles). Each is
	// nil when it lies beyond the forecast horizon (HorizonHours after
	// Now), and all three equal Now when the bin is already full.
	FullAt     *time.Time `json:"full_at"`
	FullAtLow  *time.Time `json:"full_at_low"`
	FullAtHigh *time.Time `json:"full_at_high"`
	// HoursToFull is FullAt - Now in hours; nil with FullAt.
	HoursToFull  *float64 `json:"hours_to_full"`
	HorizonHours float64  `json:"horizon_hours"`
	// Confidence (0..1) is the weight of the bin's own history against the
	// average of its zone and stream: 0 means the forecast is the group's
	// average. Samples is the number of readings the bin's rate was learnt
	// from.
	Confidence float64 `json:"confidence"`
	Samples    int     `json:"samples"`
}

// Forecaster predicts when bins fill up.
type Forecaster interface {
	// Forecast forecasts bin binID from now. It fails with NotFound when
	// the bin does not exist or has no fill reading to start from, and
	// with Unavailable while no model is trained yet.
	Forecast(ctx context.Context, binID string) (Forecast, error)
}
