-- +goose Up
-- A service whose reports are about a bin (civic.Service's BinLink): one
-- filed near a bin is linked to it. civic's own "damaged-bin" service is.
ALTER TABLE services ADD COLUMN bin_link boolean NOT NULL DEFAULT false;
UPDATE services SET bin_link = true WHERE code = 'damaged-bin';

-- +goose Down
ALTER TABLE services DROP COLUMN bin_link;
