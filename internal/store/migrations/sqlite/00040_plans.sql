-- Collection planning (SQLite): disposal facilities, bins' access windows,
-- trucks' compaction ratios, and the daily plans with their routes, stops,
-- crew reports, stop photos and collection events.
--
-- A plan is history: routes, stops and collections keep the ids of the
-- bins, trucks, crews, depots and facilities they name as plain text, with
-- the names and positions copied into the stops, so deleting an asset
-- neither breaks nor rewrites a stored plan (as readings outlive devices).
-- Foreign keys hold a plan together: deleting a draft deletes its routes,
-- stops, reports and photos.

-- +goose Up
CREATE TABLE facilities (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    streams    TEXT NOT NULL, -- JSON array of streams
    opens      TEXT NOT NULL, -- HH:MM
    closes     TEXT NOT NULL,
    unload_min REAL NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- access_window: HH:MM-HH:MM, '' for any time; compaction_ratio: 0 for the
-- planner's default.
ALTER TABLE bins ADD COLUMN access_window TEXT NOT NULL DEFAULT '';
ALTER TABLE trucks ADD COLUMN compaction_ratio REAL NOT NULL DEFAULT 0;

CREATE TABLE plans (
    id         TEXT PRIMARY KEY,
    date       TEXT NOT NULL UNIQUE, -- YYYY-MM-DD, the local service day
    status     TEXT NOT NULL CHECK (status IN ('draft', 'locked', 'in_progress', 'done')),
    created_by TEXT NOT NULL DEFAULT '',
    decisions  TEXT NOT NULL DEFAULT '[]', -- JSON array of BinDecision
    unplanned  TEXT NOT NULL DEFAULT '[]', -- JSON array of BinDecision
    stats      TEXT NOT NULL DEFAULT '{}', -- JSON PlanStats
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE routes (
    id         TEXT PRIMARY KEY,
    plan_id    TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    truck_id   TEXT NOT NULL,
    crew_id    TEXT,
    depot_id   TEXT NOT NULL DEFAULT '',
    stream     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'done')),
    start_at   TEXT NOT NULL,
    end_at     TEXT NOT NULL,
    distance_m REAL NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0,
    capacity_l REAL NOT NULL DEFAULT 0,
    UNIQUE (plan_id, seq)
);
CREATE INDEX routes_crew ON routes (crew_id);

CREATE TABLE stops (
    id              TEXT PRIMARY KEY,
    route_id        TEXT NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('depot', 'bin', 'disposal', 'break')),
    bin_id          TEXT,
    facility_id     TEXT,
    name            TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    eta             TEXT NOT NULL,
    depart          TEXT NOT NULL,
    load_before_l   REAL NOT NULL DEFAULT 0,
    load_after_l    REAL NOT NULL DEFAULT 0,
    distance_m      REAL NOT NULL DEFAULT 0,
    decision        TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    access_window   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'collected', 'skipped')),
    done_at         TEXT,
    skip_reason     TEXT NOT NULL DEFAULT '',
    fill_seen       REAL,
    fill_at_arrival REAL,
    UNIQUE (route_id, seq)
);
CREATE INDEX stops_bin ON stops (bin_id);

-- A crew report, kept by the phone's client_id so that a report sent twice
-- is applied once.
CREATE TABLE stop_reports (
    client_id   TEXT PRIMARY KEY,
    stop_id     TEXT NOT NULL REFERENCES stops (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    skip_reason TEXT NOT NULL DEFAULT '',
    fill_seen   REAL,
    note        TEXT NOT NULL DEFAULT '',
    reported_at TEXT NOT NULL,
    by_user     TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
);
CREATE INDEX stop_reports_stop ON stop_reports (stop_id);

-- The latest photo of a stop.
CREATE TABLE stop_photos (
    stop_id      TEXT PRIMARY KEY REFERENCES stops (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    client_id    TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- Collection events. No foreign keys: history outlives bins and plans. A
-- stop has at most one.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    bin_id      TEXT NOT NULL,
    time        TEXT NOT NULL,
    stop_id     TEXT UNIQUE,
    route_id    TEXT,
    plan_id     TEXT,
    truck_id    TEXT,
    crew_id     TEXT,
    by_user     TEXT NOT NULL DEFAULT '',
    fill_seen   REAL,
    fill_before REAL,
    source      TEXT NOT NULL,
    has_photo   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX collections_bin_time ON collections (bin_id, time);
CREATE INDEX collections_time ON collections (time);
CREATE INDEX collections_plan ON collections (plan_id);

-- +goose Down
DROP TABLE collections;
DROP TABLE stop_photos;
DROP TABLE stop_reports;
DROP TABLE stops;
DROP TABLE routes;
DROP TABLE plans;
ALTER TABLE trucks DROP COLUMN compaction_ratio;
ALTER TABLE bins DROP COLUMN access_window;
DROP TABLE facilities;
