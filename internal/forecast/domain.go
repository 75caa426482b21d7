package forecast

import (
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Forecast returns p as the domain's forecast, the form the planner reads:
// instants at or after horizon from p.Now (Options.Horizon) become nil.
func (p Prediction) Forecast(horizon time.Duration) civic.Forecast {
	return toForecast(p, horizon)
}
