-- +goose Up
-- Users who sign in through OpenID Connect: the provider's (issuer,
-- subject) pair names the person for good (names and e-mail addresses
-- change); the civic user row it leads to is made on the first login.
CREATE TABLE user_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- +goose Down
DROP TABLE user_identities;
