-- +goose Up
-- 311: the services catalogue (civic.Service), service requests
-- (civic.ServiceRequest), their history of notes and their photos.
-- Attributes, keywords and contact details are JSON text. Requests are
-- numbered by the database: the number is the public service_request_id.
CREATE TABLE services (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    grp         TEXT NOT NULL DEFAULT '',
    keywords    TEXT NOT NULL DEFAULT '[]',
    department  TEXT NOT NULL DEFAULT '',
    sla_hours   REAL NOT NULL DEFAULT 0,
    attributes  TEXT NOT NULL DEFAULT '[]',
    waste_link  INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE service_requests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    token             TEXT NOT NULL UNIQUE,
    service_code      TEXT NOT NULL REFERENCES services (code) ON DELETE RESTRICT,
    status            TEXT NOT NULL,
    close_reason      TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    lat               REAL,
    long              REAL,
    address           TEXT NOT NULL DEFAULT '',
    address_id        TEXT NOT NULL DEFAULT '',
    zipcode           TEXT NOT NULL DEFAULT '',
    media_url         TEXT NOT NULL DEFAULT '',
    attributes        TEXT NOT NULL DEFAULT '{}',
    object_type       TEXT NOT NULL DEFAULT '',
    object_id         TEXT NOT NULL DEFAULT '',
    contact           TEXT NOT NULL DEFAULT '{}',
    department        TEXT NOT NULL DEFAULT '',
    assigned_to       TEXT NOT NULL DEFAULT '',
    status_notes      TEXT NOT NULL DEFAULT '',
    moderation        TEXT NOT NULL DEFAULT '',
    moderation_reason TEXT NOT NULL DEFAULT '',
    duplicate_of      TEXT NOT NULL DEFAULT '',
    channel           TEXT NOT NULL DEFAULT '',
    media_count       INTEGER NOT NULL DEFAULT 0,
    requested_at      TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    expected_at       TEXT,
    closed_at         TEXT
);
-- The listing index carries the columns public lists filter on, so rows
-- skipped by a filter or an OFFSET are never read from the table.
CREATE INDEX service_requests_requested ON service_requests (requested_at, moderation, status, service_code);
CREATE INDEX service_requests_updated ON service_requests (updated_at);
CREATE INDEX service_requests_service ON service_requests (service_code, requested_at, moderation, status);
CREATE INDEX service_requests_object ON service_requests (object_type, object_id);

CREATE TABLE service_request_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    time       TEXT NOT NULL,
    author     TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL,
    status     TEXT NOT NULL,
    public     INTEGER NOT NULL,
    text       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_request_notes_request ON service_request_notes (request_id, id);

CREATE TABLE service_request_media (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   INTEGER NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL
);
CREATE INDEX service_request_media_request ON service_request_media (request_id);

-- +goose Down
DROP TABLE service_request_media;
DROP TABLE service_request_notes;
DROP TABLE service_requests;
DROP TABLE services;
