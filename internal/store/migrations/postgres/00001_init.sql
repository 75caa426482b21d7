-- civic's initial schema for PostgreSQL. Times are timestamptz (UTC).

-- +goose Up
CREATE TABLE zones (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    boundary   text NOT NULL, -- GeoJSON Polygon or MultiPolygon geometry
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE bins (
    id             text PRIMARY KEY,
    serial         text NOT NULL DEFAULT '',
    name           text NOT NULL,
    lat            double precision NOT NULL,
    lon            double precision NOT NULL,
    address        text NOT NULL DEFAULT '',
    stream         text NOT NULL,
    capacity_l     double precision NOT NULL,
    compacting     boolean NOT NULL DEFAULT false,
    model          text NOT NULL DEFAULT '',
    zone_id        text REFERENCES zones (id) ON DELETE SET NULL,
    status         text NOT NULL,
    installed_on   text NOT NULL DEFAULT '',
    full_threshold double precision NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX bins_zone ON bins (zone_id);

CREATE TABLE devices (
    id                  text PRIMARY KEY,
    kind                text NOT NULL,
    bin_id              text REFERENCES bins (id) ON DELETE SET NULL,
    dev_eui             text UNIQUE,
    fill_scale          text NOT NULL,
    payload_format      text NOT NULL DEFAULT '',
    expected_interval_s integer NOT NULL,
    firmware            text NOT NULL DEFAULT '',
    status              text NOT NULL,
    secret_hash         text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX devices_bin ON devices (bin_id);

CREATE TABLE depots (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    address    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE trucks (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    depot_id    text NOT NULL REFERENCES depots (id) ON DELETE RESTRICT,
    capacity_l  double precision NOT NULL,
    stream      text NOT NULL,
    shift_start text NOT NULL,
    shift_end   text NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX trucks_depot ON trucks (depot_id);

CREATE TABLE crews (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    depot_id   text REFERENCES depots (id) ON DELETE RESTRICT,
    truck_id   text REFERENCES trucks (id) ON DELETE SET NULL,
    members    text NOT NULL DEFAULT '[]', -- JSON array of user names
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX crews_depot ON crews (depot_id);
CREATE INDEX crews_truck ON crews (truck_id);

-- readings is range-partitioned by month; the store creates monthly
-- partitions on demand and the DEFAULT partition catches anything else, so
-- no reading is ever rejected for want of a partition. No foreign keys: the
-- hot path must not fail a batch because an asset was removed meanwhile.
CREATE TABLE readings (
    device_id     text NOT NULL,
    time          timestamptz NOT NULL,
    bin_id        text,
    fill          double precision,
    temperature_c double precision,
    battery       double precision,
    tilt_deg      double precision,
    compactions   integer,
    door_open     boolean,
    fire          boolean,
    distance_mm   double precision,
    rssi_dbm      double precision,
    snr_db        double precision,
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, time)
) PARTITION BY RANGE (time);
CREATE TABLE readings_default PARTITION OF readings DEFAULT;
CREATE INDEX readings_bin_time ON readings (bin_id, time);

CREATE TABLE bin_state (
    bin_id        text PRIMARY KEY,
    device_id     text,
    time          timestamptz NOT NULL,
    fill          double precision,
    temperature_c double precision,
    battery       double precision,
    tilt_deg      double precision,
    door_open     boolean,
    fire          boolean,
    rssi_dbm      double precision,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE users (
    id            text PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    display_name  text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    role          text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    scopes       text NOT NULL, -- space-separated
    hash         text NOT NULL,
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id     bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    time   timestamptz NOT NULL,
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT '',
    remote text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (time);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE bin_state;
DROP TABLE readings;
DROP TABLE crews;
DROP TABLE trucks;
DROP TABLE depots;
DROP TABLE devices;
DROP TABLE bins;
DROP TABLE zones;
