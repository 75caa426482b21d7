-- +goose Up
-- What-if simulation runs kept for the web app (civic.SimulationRun): the
-- simulator's result as JSON text and its self-contained HTML report.
-- Written once, read whole, listed without result and report.
CREATE TABLE simulations (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL DEFAULT '',
    summary    text NOT NULL DEFAULT '',
    result     text NOT NULL DEFAULT '',
    report     bytea NOT NULL
);
CREATE INDEX simulations_created ON simulations (created_at);

-- +goose Down
DROP TABLE simulations;
