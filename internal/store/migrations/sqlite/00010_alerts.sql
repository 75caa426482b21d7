-- Alerts, their notification outbox, subscriptions and the rule
-- configuration (SQLite). Times are fixed-width RFC 3339 text (UTC), so they
-- compare as strings.

-- +goose Up
-- alerts has no foreign keys: history outlives bins and devices.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    bin_id       TEXT NOT NULL,
    device_id    TEXT NOT NULL DEFAULT '',
    rule         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL DEFAULT '',
    value        REAL,
    opened_at    TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    acked_at     TEXT,
    acked_by     TEXT NOT NULL DEFAULT '',
    resolved_at  TEXT,
    resolved_by  TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT ''
);
-- At most one unresolved alert per bin and rule, whoever opens it.
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (bin_id, rule) WHERE status <> 'resolved';
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_bin_opened ON alerts (bin_id, opened_at);

CREATE TABLE alert_subscriptions (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    url            TEXT NOT NULL DEFAULT '',
    secret         TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    rules          TEXT NOT NULL DEFAULT '[]', -- JSON arrays
    min_severity   TEXT NOT NULL DEFAULT '',
    zones          TEXT NOT NULL DEFAULT '[]',
    events         TEXT NOT NULL DEFAULT '[]',
    digest_minutes INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE alert_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
    alert_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    urgent          INTEGER NOT NULL DEFAULT 0,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    failed          INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_at) WHERE delivered_at IS NULL AND failed = 0;
CREATE INDEX alert_outbox_subscription ON alert_outbox (subscription_id);

CREATE TABLE alert_rules (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    config     TEXT NOT NULL, -- civic.AlertRules as JSON
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE alert_rules;
DROP TABLE alert_outbox;
DROP TABLE alert_subscriptions;
DROP TABLE alerts;
