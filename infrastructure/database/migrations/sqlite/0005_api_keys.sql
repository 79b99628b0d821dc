-- +goose Up
-- API keys (DESIGN.md "API keys"). Only the SHA-256 of a key is stored.
-- Revocations go to the revocations feed under "key:"+id.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hint         TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT '[]',
    hash         BLOB NOT NULL UNIQUE,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at);
