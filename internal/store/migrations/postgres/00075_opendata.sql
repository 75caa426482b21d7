-- +goose Up
-- The open data portal's collection events are published in time order,
-- ties broken by id: this index serves that order without a sort, so a
-- full export streams in constant memory.
CREATE INDEX collections_time_id ON collections (time, id);

-- +goose Down
DROP INDEX collections_time_id;
