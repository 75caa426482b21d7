-- civic's initial schema for SQLite. Reading times are INTEGER Unix
-- milliseconds (UTC); other times are fixed-width RFC 3339 text (UTC).

-- +goose Up
CREATE TABLE zones (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    boundary   TEXT NOT NULL, -- GeoJSON Polygon or MultiPolygon geometry
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE bins (
    id             TEXT PRIMARY KEY,
    serial         TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL,
    lat            REAL NOT NULL,
    lon            REAL NOT NULL,
    address        TEXT NOT NULL DEFAULT '',
    stream         TEXT NOT NULL,
    capacity_l     REAL NOT NULL,
    compacting     INTEGER NOT NULL DEFAULT 0,
    model          TEXT NOT NULL DEFAULT '',
    zone_id        TEXT REFERENCES zones (id) ON DELETE SET NULL,
    status         TEXT NOT NULL,
    installed_on   TEXT NOT NULL DEFAULT '',
    full_threshold REAL NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX bins_zone ON bins (zone_id);

CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    bin_id              TEXT REFERENCES bins (id) ON DELETE SET NULL,
    dev_eui             TEXT UNIQUE,
    fill_scale          TEXT NOT NULL,
    payload_format      TEXT NOT NULL DEFAULT '',
    expected_interval_s INTEGER NOT NULL,
    firmware            TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL,
    secret_hash         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX devices_bin ON devices (bin_id);

CREATE TABLE depots (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE trucks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    depot_id    TEXT NOT NULL REFERENCES depots (id) ON DELETE RESTRICT,
    capacity_l  REAL NOT NULL,
    stream      TEXT NOT NULL,
    shift_start TEXT NOT NULL,
    shift_end   TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX trucks_depot ON trucks (depot_id);

CREATE TABLE crews (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    depot_id   TEXT REFERENCES depots (id) ON DELETE RESTRICT,
    truck_id   TEXT REFERENCES trucks (id) ON DELETE SET NULL,
    members    TEXT NOT NULL DEFAULT '[]', -- JSON array of user names
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX crews_depot ON crews (depot_id);
CREATE INDEX crews_truck ON crews (truck_id);

-- readings has no foreign keys: the hot path must not fail a whole batch
-- because a bin or device was removed meanwhile, and history outlives assets.
CREATE TABLE readings (
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
    PRIMARY KEY (device_id, time)
) WITHOUT ROWID;
CREATE INDEX readings_bin_time ON readings (bin_id, time);

CREATE TABLE bin_state (
    bin_id        TEXT PRIMARY KEY,
    device_id     TEXT,
    time          INTEGER NOT NULL, -- Unix ms UTC
    fill          REAL,
    temperature_c REAL,
    battery       REAL,
    tilt_deg      REAL,
    door_open     INTEGER,
    fire          INTEGER,
    rssi_dbm      REAL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    scopes       TEXT NOT NULL, -- space-separated
    hash         TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    time   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    remote TEXT NOT NULL DEFAULT ''
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
