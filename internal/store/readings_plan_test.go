package store

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadingPlans: on SQLite, readings is a view of readings_main (by
// device_id, time) and readings_recent (by time, device_id). Every query
// of the readings of a device or a bin must seek readings_main through its
// primary key and readings_recent through its time range: a query SQLite
// runs as a scan of the view reads the whole history (as the device health
// query's correlated subqueries did, which is why it reads readings_main
// alone). The plans are SQLite's own, from EXPLAIN QUERY PLAN.
func TestReadingPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "civic.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	health := strings.NewReplacer("{days}", sqliteDays, "{n}", "8")
	queries := []struct {
		name   string
		query  string
		args   []any
		recent bool // reads readings_recent too
	}{
		{"readings of a device", readingsQuery("device_id = $1") + " LIMIT 10", []any{"D", 0, 1}, true},
		{"readings of a bin", readingsQuery(binReadings), []any{"B", 0, 1}, true},
		{"readings of a device on a bin", readingsQuery("device_id = $1 AND bin_id = $4"), []any{"D", 0, 1, "B"}, true},
		{"bin history", binHistoryQuery(`(time / $2) * $2`), []any{"B", 60000, 0, 1}, true},
		{"last fill", lastFillQuery, []any{"B", 1}, true},
		{"device health", health.Replace(strings.Replace(deviceHealthQuery, "{where}", "", 1)), []any{0, 1, 2}, false},
		{"health of a device", health.Replace(strings.Replace(deviceHealthQuery, "{where}", " WHERE d.id = $4", 1)), []any{0, 1, 2, "D"}, false},
		{"health of a page", health.Replace(strings.Replace(deviceHealthQuery, "{where}", " WHERE d.id >= $4 AND d.id <= $5", 1)), []any{0, 1, 2, "A", "D"}, false},
		{"newest in readings_main", mainNewestSQL, nil, false},
	}
	for _, q := range queries {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.query, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, bad := range []string{"SCAN readings_main", "SCAN readings_recent", "SCAN r\n", "SCAN m\n", "AUTOMATIC"} {
			if strings.Contains(text+"\n", bad) {
				t.Errorf("%s: the plan has %q:\n%s", q.name, strings.TrimSpace(bad), text)
			}
		}
		if strings.HasPrefix(q.name, "health of") && !strings.Contains(text, "SEARCH d USING") {
			t.Errorf("%s: the plan does not seek the devices by id:\n%s", q.name, text)
		}
		if !seekMain.MatchString(text) {
			t.Errorf("%s: the plan does not seek readings_main by device:\n%s", q.name, text)
		}
		if got := strings.Contains(text, "SEARCH readings_recent USING PRIMARY KEY (time"); got != q.recent {
			t.Errorf("%s: the plan seeks readings_recent by time: %v, want %v:\n%s", q.name, got, q.recent, text)
		}
	}
}

// seekMain is a seek of readings_main (aliased r in the health query) by
// device.
var seekMain = regexp.MustCompile(`SEARCH (readings_main|r|m) USING PRIMARY KEY \(device_id=\?`)
