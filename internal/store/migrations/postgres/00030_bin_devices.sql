-- Bin history through the devices a bin has had (PostgreSQL).
--
-- readings_bin_time, a second ordering of every reading, cost about as much
-- to keep up at ingest as the readings table itself. Bin history is now
-- read through the primary key (device_id, time) of each partition:
-- bin_devices lists every device that has ever reported for a bin, and
-- WriteReadings adds a pair in the same transaction as the first reading
-- that carries it.

-- +goose Up
CREATE TABLE bin_devices (
    bin_id    text NOT NULL,
    device_id text NOT NULL,
    PRIMARY KEY (bin_id, device_id)
);
INSERT INTO bin_devices (bin_id, device_id)
    SELECT DISTINCT bin_id, device_id FROM readings WHERE bin_id IS NOT NULL
    ON CONFLICT DO NOTHING;
DROP INDEX readings_bin_time;

-- +goose Down
CREATE INDEX readings_bin_time ON readings (bin_id, time);
DROP TABLE bin_devices;
