package opendata

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
)

// TestCSVDefusesFormulas: a text cell a spreadsheet would evaluate gets a
// leading apostrophe; numbers, negative ones included, stay numbers.
func TestCSVDefusesFormulas(t *testing.T) {
	var buf bytes.Buffer
	w, err := newCSV(&buf, []string{"name", "lon", "n", "note"})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"=HYPERLINK(\"http://evil.example\")", -3.25, int64(-4), "+1 555"},
		{"@SUM(A1)", 13.4, int64(7), "-dash"},
		{"plain", nil, int64(0), "a=b"},
	}
	for _, r := range rows {
		if err := w.row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.end(); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"name", "lon", "n", "note"},
		{"'=HYPERLINK(\"http://evil.example\")", "-3.25", "-4", "'+1 555"},
		{"'@SUM(A1)", "13.4", "7", "'-dash"},
		{"plain", "", "0", "a=b"},
	}
	for i := range want {
		if i >= len(got) || !slices.Equal(got[i], want[i]) {
			t.Fatalf("CSV rows = %q, want %q", got, want)
		}
	}
}
