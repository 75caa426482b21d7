-- +goose Up
-- The planner's thresholds, as one JSON document (civic.PlanSettings),
-- like alert_rules: defaults when the row is missing.
CREATE TABLE plan_settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    config     text NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE plan_settings;
