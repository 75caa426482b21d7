package ingest

import (
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic, device, field string
	}{
		{"civic/v1/devices/SENS-001/up", "SENS-001", ""},
		{Topic("a.b_c:d-1"), "a.b_c:d-1", ""},
		{"civic/v1/devices//up", "", "device"},
		{"civic/v1/devices/-x/up", "", "device"},
		{"civic/v1/devices/a b/up", "", "device"},
		{"civic/v1/devices/+/up", "", "device"},
		{"civic/v1/devices/a/b/up", "", "topic"},
		{"civic/v1/devices/a/down", "", "topic"},
		{"civic/v2/devices/a/up", "", "topic"},
		{"civic/v1/devices/a/up/", "", "topic"},
		{"", "", "topic"},
	}
	for _, tt := range tests {
		got, err := ParseTopic(tt.topic)
		if tt.field == "" {
			if err != nil || got != tt.device {
				t.Errorf("ParseTopic(%q) = %q, %v; want %q", tt.topic, got, err, tt.device)
			}
			continue
		}
		if !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tt.field {
			t.Errorf("ParseTopic(%q) = %q, %v; want invalid %s", tt.topic, got, err, tt.field)
		}
	}
}
