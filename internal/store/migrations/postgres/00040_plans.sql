-- Collection planning (PostgreSQL): disposal facilities, bins' access windows,
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
    id         text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    address    text NOT NULL DEFAULT '',
    streams    text NOT NULL, -- JSON array of streams
    opens      text NOT NULL, -- HH:MM
    closes     text NOT NULL,
    unload_min double precision NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- access_window: HH:MM-HH:MM, '' for any time; compaction_ratio: 0 for the
-- planner's default.
ALTER TABLE bins ADD COLUMN access_window text NOT NULL DEFAULT '';
ALTER TABLE trucks ADD COLUMN compaction_ratio double precision NOT NULL DEFAULT 0;

CREATE TABLE plans (
    id         text PRIMARY KEY,
    date       text NOT NULL UNIQUE, -- YYYY-MM-DD, the local service day
    status     text NOT NULL CHECK (status IN ('draft', 'locked', 'in_progress', 'done')),
    created_by text NOT NULL DEFAULT '',
    decisions  text NOT NULL DEFAULT '[]', -- JSON array of BinDecision
    unplanned  text NOT NULL DEFAULT '[]', -- JSON array of BinDecision
    stats      text NOT NULL DEFAULT '{}', -- JSON PlanStats
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE routes (
    id         text PRIMARY KEY,
    plan_id    text NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    truck_id   text NOT NULL,
    crew_id    text,
    depot_id   text NOT NULL DEFAULT '',
    stream     text NOT NULL,
    status     text NOT NULL CHECK (status IN ('planned', 'in_progress', 'done')),
    start_at   timestamptz NOT NULL,
    end_at     timestamptz NOT NULL,
    distance_m double precision NOT NULL DEFAULT 0,
    duration_s double precision NOT NULL DEFAULT 0,
    capacity_l double precision NOT NULL DEFAULT 0,
    UNIQUE (plan_id, seq)
);
CREATE INDEX routes_crew ON routes (crew_id);

CREATE TABLE stops (
    id              text PRIMARY KEY,
    route_id        text NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    seq             integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('depot', 'bin', 'disposal', 'break')),
    bin_id          text,
    facility_id     text,
    name            text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    lat             double precision NOT NULL,
    lon             double precision NOT NULL,
    eta             timestamptz NOT NULL,
    depart          timestamptz NOT NULL,
    load_before_l   double precision NOT NULL DEFAULT 0,
    load_after_l    double precision NOT NULL DEFAULT 0,
    distance_m      double precision NOT NULL DEFAULT 0,
    decision        text NOT NULL DEFAULT '',
    reason          text NOT NULL DEFAULT '',
    access_window   text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('pending', 'collected', 'skipped')),
    done_at         timestamptz,
    skip_reason     text NOT NULL DEFAULT '',
    fill_seen       double precision,
    fill_at_arrival double precision,
    UNIQUE (route_id, seq)
);
CREATE INDEX stops_bin ON stops (bin_id);

-- A crew report, kept by the phone's client_id so that a report sent twice
-- is applied once.
CREATE TABLE stop_reports (
    client_id   text PRIMARY KEY,
    stop_id     text NOT NULL REFERENCES stops (id) ON DELETE CASCADE,
    status      text NOT NULL,
    skip_reason text NOT NULL DEFAULT '',
    fill_seen   double precision,
    note        text NOT NULL DEFAULT '',
    reported_at timestamptz NOT NULL,
    by_user     text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL
);
CREATE INDEX stop_reports_stop ON stop_reports (stop_id);

-- The latest photo of a stop.
CREATE TABLE stop_photos (
    stop_id      text PRIMARY KEY REFERENCES stops (id) ON DELETE CASCADE,
    content_type text NOT NULL,
    data         bytea NOT NULL,
    client_id    text NOT NULL,
    created_at   timestamptz NOT NULL
);

-- Collection events. No foreign keys: history outlives bins and plans. A
-- stop has at most one.
CREATE TABLE collections (
    id          text PRIMARY KEY,
    bin_id      text NOT NULL,
    time        timestamptz NOT NULL,
    stop_id     text UNIQUE,
    route_id    text,
    plan_id     text,
    truck_id    text,
    crew_id     text,
    by_user     text NOT NULL DEFAULT '',
    fill_seen   double precision,
    fill_before double precision,
    source      text NOT NULL,
    has_photo   boolean NOT NULL DEFAULT false
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
