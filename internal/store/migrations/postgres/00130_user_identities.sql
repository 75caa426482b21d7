-- +goose Up
-- Users who sign in through OpenID Connect: the provider's (issuer,
-- subject) pair names the person for good (names and e-mail addresses
-- change); the civic user row it leads to is made on the first login.
CREATE TABLE user_identities (
    issuer     text NOT NULL,
    subject    text NOT NULL,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- +goose Down
DROP TABLE user_identities;
