-- +goose Up
-- The open data portal's collection events are published in time order,
-- ties broken by id, nulls first as SQLite sorts them (the portal asks
-- both engines for that order): this index serves that order without a
-- sort, so a full export streams in constant memory and a page of it
-- does not sort the whole table.
CREATE INDEX collections_time_id ON collections (time ASC NULLS FIRST, id ASC NULLS FIRST);

-- +goose Down
DROP INDEX collections_time_id;
