-- +goose Up
-- Marks the store keeps about its own tables. "states_through" is the
-- received_at of the newest readings whose bins' live states bin_state
-- holds: under sustained ingest the SQLite writer writes bin_state a few
-- times a second instead of at every commit (see pendingStates in
-- readings_sqlite.go), and at open the store applies the readings of
-- readings_recent received after the mark, which a crash may have left
-- out of bin_state.
CREATE TABLE store_marks (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE store_marks;
