-- +goose Up
-- API keys (DESIGN.md "API keys"). Only the SHA-256 of a key is stored.
-- Revocations go to the revocations feed under "key:"+id.
CREATE TABLE api_keys (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hint         TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT '[]',
    hash         BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at);
