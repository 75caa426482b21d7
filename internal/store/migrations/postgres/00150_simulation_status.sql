-- +goose Up
-- Simulations started from the web app run in the background: a run is
-- stored when it starts and updated as it goes (civic.SimulationRun's
-- status, progress, error and updated_at). Runs stored before were saved
-- whole: done.
ALTER TABLE simulations ADD COLUMN status text NOT NULL DEFAULT 'done';
ALTER TABLE simulations ADD COLUMN progress double precision NOT NULL DEFAULT 1;
ALTER TABLE simulations ADD COLUMN error text NOT NULL DEFAULT '';
ALTER TABLE simulations ADD COLUMN updated_at timestamptz;
UPDATE simulations SET updated_at = created_at;
ALTER TABLE simulations ALTER COLUMN updated_at SET NOT NULL;

-- +goose Down
ALTER TABLE simulations DROP COLUMN updated_at;
ALTER TABLE simulations DROP COLUMN error;
ALTER TABLE simulations DROP COLUMN progress;
ALTER TABLE simulations DROP COLUMN status;
