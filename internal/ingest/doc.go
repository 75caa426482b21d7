// Package ingest turns what sensors send into committed civic.Readings.
//
// It holds the payload decoders — the JSON batch body of POST
// /api/v1/readings and of MQTT messages (DecodeBatch), The Things Stack v3
// and ChirpStack v4 webhooks (DecodeTTN, DecodeChirpStack), the byte formats
// of LoRaWAN frames (Decoders, civic-v1) and MQTT topics (ParseTopic) — and
// the Writer, which validates readings against the device registry and
// commits them in group transactions, answering each sender only after its
// readings are durable. The LoRaWAN service takes decoded network server
// messages from any transport (the HTTP webhooks today): device lookup by
// DevEUI, refusal of inactive devices, uplinks as readings, other messages
// as device events, decode failures counted against the device.
//
// Decoders never panic on hostile input and fail with civic.Invalid errors
// whose field names the offending part, e.g. "readings[3].fill", or with
// civic.TooLarge when a body exceeds the limits.
package ingest
