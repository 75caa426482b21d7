-- +goose Up
-- What-if simulation runs kept for the web app (civic.SimulationRun): the
-- simulator's result as JSON text and its self-contained HTML report.
-- Written once, read whole, listed without result and report.
CREATE TABLE simulations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    summary    TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL DEFAULT '',
    report     BLOB NOT NULL
);
CREATE INDEX simulations_created ON simulations (created_at);

-- +goose Down
DROP TABLE simulations;
