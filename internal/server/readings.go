package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
)

// ingestAnswer is the answer to POST /api/v1/readings.
type ingestAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// handlePostReadings takes a batch of readings. It answers 202 only after
// the ingester has committed them, so a sender that sees the answer may
// forget the batch; a resent batch is counted as duplicates. An invalid
// reading fails the whole batch (field "readings[i].field") and nothing of
// it is stored.
func (s *Server) handlePostReadings(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermIngest); err != nil {
		return err
	}
	if s.ingester == nil {
		return civic.Errorf(civic.Unavailable, "ingest is not running on this server")
	}
	readings, err := ingest.DecodeBatch(r.Body)
	if err != nil {
		return err
	}
	res, err := s.ingester.Ingest(r.Context(), readings)
	if err != nil {
		return err
	}
	s.metrics.readings.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.readings.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	writeJSON(w, http.StatusAccepted, ingestAnswer{Accepted: res.Accepted, Duplicates: res.Duplicates})
	return nil
}

// History defaults: a week, in at most about maxPoints steps chosen from
// steps; never more than maxHistoryPoints.
const (
	defaultHistory   = 7 * 24 * time.Hour
	maxPoints        = 500
	maxHistoryPoints = 20000
	defaultRawLimit  = 10000
	maxRawLimit      = 100000
)

var steps = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// history is the answer to GET /api/v1/bins/{id}/readings.
type history struct {
	Bin    string               `json:"bin"`
	From   time.Time            `json:"from"`
	To     time.Time            `json:"to"`
	StepS  int64                `json:"step_s"`
	Points []civic.HistoryPoint `json:"points"`
}

// rawReadings is the answer to GET /api/v1/bins/{id}/readings?raw=true.
type rawReadings struct {
	Bin      string          `json:"bin"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Readings []civic.Reading `json:"readings"`
}

// handleBinReadings returns a bin's history over [from, to) (RFC 3339;
// default the last 7 days), downsampled into steps ("15m", "1h", "1d";
// default the shortest giving at most about 500 points), or with raw=true
// the raw readings, oldest first, at most limit of them.
func (s *Server) handleBinReadings(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	q := r.URL.Query()
	id := r.PathValue("id")
	to := s.now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return civic.FieldError("to", "must be an RFC 3339 time")
		}
		to = t.UTC()
	}
	// The default window starts no earlier than year 0, the first an
	// RFC 3339 time (and so the answer) can name.
	from := to.Add(-defaultHistory)
	if year0 := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); from.Before(year0) {
		from = year0
	}
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return civic.FieldError("from", "must be an RFC 3339 time")
		}
		from = t.UTC()
	}
	if !from.Before(to) {
		if q.Get("from") == "" {
			return civic.FieldError("to", "must be after 0000-01-01T00:00:00Z")
		}
		return civic.FieldError("from", "must be before to")
	}
	raw := false
	if v := q.Get("raw"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return civic.FieldError("raw", "must be true or false")
		}
		raw = b
	}
	// A bin without readings has an empty history; an unknown bin is an
	// error.
	if _, err := s.store.Bin(r.Context(), id); err != nil {
		return err
	}
	if raw {
		limit, err := intParam(q.Get("limit"), "limit", defaultRawLimit, 1, maxRawLimit)
		if err != nil {
			return err
		}
		rs, err := s.store.Readings(r.Context(), civic.ReadingQuery{Bin: id, From: from, To: to, Limit: limit})
		if err != nil {
			return err
		}
		if rs == nil {
			rs = []civic.Reading{}
		}
		writeJSON(w, http.StatusOK, rawReadings{Bin: id, From: from, To: to, Readings: rs})
		return nil
	}
	span := to.Sub(from)
	var step time.Duration
	if v := q.Get("step"); v != "" {
		d, err := parseStep(v)
		if err != nil {
			return err
		}
		step = d
	} else {
		step = steps[len(steps)-1]
		for _, d := range steps {
			if span/d <= maxPoints {
				step = d
				break
			}
		}
	}
	if span/step > maxHistoryPoints {
		return civic.FieldError("step", "gives more than %d points over this range; use a longer step", maxHistoryPoints)
	}
	pts, err := s.store.BinHistory(r.Context(), id, from, to, step)
	if err != nil {
		return err
	}
	if pts == nil {
		pts = []civic.HistoryPoint{}
	}
	writeJSON(w, http.StatusOK, history{Bin: id, From: from, To: to, StepS: int64(step / time.Second), Points: pts})
	return nil
}

// parseStep reads a step: a Go duration ("15m", "1h30m") or a number of days
// ("1d", "7d"), at least a minute.
func parseStep(v string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < time.Minute || d > 366*24*time.Hour {
		return 0, civic.FieldError("step", "must be a duration such as 15m, 1h or 1d, between 1m and 366d")
	}
	return d, nil
}
