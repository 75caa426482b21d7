-- Readings land in a small table kept in sensor-time order and move to the
-- main table, in (device_id, time) order, a few thousand at a time (SQLite).
--
-- In readings, clustered by (device_id, time), a commit of readings from k
-- devices dirtied k leaf pages, one 4 KiB write-ahead-log frame per
-- reading: most of the cost of MQTT ingest. readings_recent is clustered by
-- (time, device_id), so a commit appends to its last pages; the store
-- moves its rows into readings_main in one sorted pass once it holds a few
-- thousand (see foldRows in readings_sqlite.go), each device's page then
-- taking many readings at once. The view readings is both: every reader
-- sees every committed reading.

-- +goose Up
ALTER TABLE readings RENAME TO readings_main;
CREATE TABLE readings_recent (
    device_id     TEXT NOT NULL,
    time          INTEGER NOT NULL, -- sensor time, Unix ms UTC
    bin_id        TEXT,
    fill          REAL,
    temperature_c REAL,
    battery       REAL,
    tilt_deg      REAL,
    compactions   INTEGER,
    door_open     INTEGER,
    fire          INTEGER,
    distance_mm   REAL,
    rssi_dbm      REAL,
    snr_db        REAL,
    received_at   INTEGER NOT NULL, -- Unix ms UTC
    PRIMARY KEY (time, device_id)
) WITHOUT ROWID;
CREATE VIEW readings AS
    SELECT device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, compactions, door_open, fire,
        distance_mm, rssi_dbm, snr_db, received_at FROM readings_main
    UNION ALL
    SELECT device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, compactions, door_open, fire,
        distance_mm, rssi_dbm, snr_db, received_at FROM readings_recent;

-- +goose Down
INSERT OR IGNORE INTO readings_main SELECT * FROM readings_recent;
DROP VIEW readings;
DROP TABLE readings_recent;
ALTER TABLE readings_main RENAME TO readings;
