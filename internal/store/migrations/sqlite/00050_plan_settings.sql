-- +goose Up
-- The planner's thresholds, as one JSON document (civic.PlanSettings),
-- like alert_rules: defaults when the row is missing.
CREATE TABLE plan_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    config     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE plan_settings;
