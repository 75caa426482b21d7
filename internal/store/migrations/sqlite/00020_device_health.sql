-- Device fleet health (SQLite): events other than readings (LoRaWAN joins,
-- status reports, acknowledgements, undecodable uplinks) and the per-device
-- counters readings cannot give. Last seen, uplink rate, battery and signal
-- are computed from readings (primary key (device_id, time)). Times are
-- fixed-width RFC 3339 text (UTC), so they compare as strings.

-- +goose Up
-- No foreign keys: history outlives devices, as for readings.
CREATE TABLE device_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL,
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}', -- JSON object
    battery     REAL,
    received_at TEXT NOT NULL
);
CREATE INDEX device_events_device ON device_events (device_id, id);

CREATE TABLE device_health (
    device_id         TEXT PRIMARY KEY,
    decode_failures   INTEGER NOT NULL DEFAULT 0,
    last_failure_at   TEXT,
    last_failure      TEXT NOT NULL DEFAULT '',
    gateway           TEXT NOT NULL DEFAULT '',
    battery           REAL, -- from the newest event reporting one
    battery_at        TEXT,
    last_event_at     TEXT,
    last_event_kind   TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE device_health;
DROP TABLE device_events;
