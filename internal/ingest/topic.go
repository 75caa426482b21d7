package ingest

import (
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// The MQTT topics devices publish on: civic/v1/devices/{device}/up.
const (
	topicPrefix = "civic/v1/devices/"
	topicSuffix = "/up"
	// TopicFilter matches every device's uplink topic.
	TopicFilter = topicPrefix + "+" + topicSuffix
)

// Topic returns the uplink topic of device.
func Topic(device string) string { return topicPrefix + device + topicSuffix }

// ParseTopic returns the device id of an uplink topic
// "civic/v1/devices/{device}/up". It fails with civic.Invalid on field
// "topic" for any other topic and on field "device" for an id that
// civic.ValidateID rejects.
func ParseTopic(topic string) (device string, err error) {
	rest, ok := strings.CutPrefix(topic, topicPrefix)
	if !ok {
		return "", civic.FieldError("topic", "must be civic/v1/devices/{device}/up")
	}
	device, ok = strings.CutSuffix(rest, topicSuffix)
	if !ok || strings.Contains(device, "/") {
		return "", civic.FieldError("topic", "must be civic/v1/devices/{device}/up")
	}
	if err := civic.ValidateID("device", device); err != nil {
		return "", err
	}
	return device, nil
}
