package sim

import (
	"testing"

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
