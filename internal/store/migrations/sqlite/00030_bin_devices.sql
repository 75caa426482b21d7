-- Bin history through the devices a bin has had (SQLite).
--
-- readings_bin_time, a second ordering of every reading, cost about as much
-- to keep up at ingest as the readings table itself: each reading of a
-- fleet dirtied one page in each B-tree. Bin history is now read through
-- the primary key (device_id, time): bin_devices lists every device that
-- has ever reported for a bin, and WriteReadings adds a pair in the same
-- transaction as the first reading that carries it.

-- +goose Up
CREATE TABLE bin_devices (
    bin_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (bin_id, device_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO bin_devices (bin_id, device_id)
    SELECT DISTINCT bin_id, device_id FROM readings WHERE bin_id IS NOT NULL;
DROP INDEX readings_bin_time;

-- +goose Down
CREATE INDEX readings_bin_time ON readings (bin_id, time);
DROP TABLE bin_devices;
