// Package mqtt receives sensor readings over MQTT, in one of two modes:
//
//   - Broker: civic's own embedded broker (github.com/mochi-mqtt/server/v2,
//     MQTT 3.1.1 and 5). Each device connects with its id as user name and
//     its password, may publish only to civic/v1/devices/{its id}/up and may
//     subscribe only under civic/v1/devices/{its id}/. A QoS 1 or 2 message
//     is acknowledged only after its readings are committed.
//   - Subscriber: a client of an external broker (Mosquitto, EMQX, HiveMQ)
//     through github.com/eclipse/paho.golang (MQTT 5) with the shared
//     subscription $share/{group}/civic/v1/devices/+/up, so several civic
//     nodes split the load; messages are acknowledged manually after commit.
//
// Both decode message payloads with ingest.DecodeBatchBytes (one reading, a
// bare array or {"readings": [...]}) and hand the readings to a
// civic.Ingester. A reading may leave out "device": the topic names it.
package mqtt
