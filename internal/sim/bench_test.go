package sim

import (
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// BenchmarkHistory measures the history the forecast backtest needs: 1,000
// bins for 30 days (about 2.9 million readings), streamed a day at a time.
func BenchmarkHistory(b *testing.B) {
	c := GenerateCity(CityParams{Seed: 1})
	for b.Loop() {
		n := 0
		_ = StreamHistory(c, HistoryParams{Days: 30, Seed: 2}, func(_ *Sensors, day []civic.Reading) error {
			n += len(day)
			return nil
		})
		b.ReportMetric(float64(n), "readings/op")
	}
}

// BenchmarkHistorySlice is BenchmarkHistory keeping every reading in one
// slice, as History does.
func BenchmarkHistorySlice(b *testing.B) {
	c := GenerateCity(CityParams{Seed: 1})
	for b.Loop() {
		rs := History(c, HistoryParams{Days: 30, Seed: 2})
		b.ReportMetric(float64(len(rs)), "readings/op")
	}
}

// BenchmarkGenerateCity measures the generator on a 10,000-bin city.
func BenchmarkGenerateCity(b *testing.B) {
	for b.Loop() {
		GenerateCity(CityParams{Bins: 10000, Seed: 1})
	}
}

// BenchmarkStepMinute measures the demo server's cadence: a 10,000-bin
// city advanced a minute at a time.
func BenchmarkStepMinute(b *testing.B) {
	c := GenerateCity(CityParams{Bins: 10000, Seed: 1})
	s := NewSensors(c, SensorParams{Seed: 2})
	t := s.Now()
	for b.Loop() {
		t = t.Add(time.Minute)
		s.Step(t)
	}
}
