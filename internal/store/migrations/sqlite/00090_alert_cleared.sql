-- +goose Up
-- A critical alert (fire) latches: when its condition clears it stays
-- unresolved with cleared_at set, until a person acknowledges it.
ALTER TABLE alerts ADD COLUMN cleared_at TEXT;

-- +goose Down
ALTER TABLE alerts DROP COLUMN cleared_at;
