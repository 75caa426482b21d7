-- +goose Up
-- A run keeps the assumptions it was made under (civic.SimulationRun's
-- Assumptions, as JSON); '' for runs stored before.
ALTER TABLE simulations ADD COLUMN assumptions TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE simulations DROP COLUMN assumptions;
