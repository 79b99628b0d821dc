-- +goose Up
-- Multi-factor authentication (DESIGN.md "Multi-factor authentication"):
-- whether a user has a confirmed second factor, how each session's login
-- authenticated (amr: RFC 8176 methods separated by spaces; acr: the
-- assurance level; every older session was a password login), the TOTP factor,
-- the recovery codes and the logins waiting for their second factor.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN acr TEXT NOT NULL DEFAULT '';
UPDATE sessions SET amr = 'pwd', acr = 'aal1';

-- One factor per user: pending while confirmed_at is NULL. secret is
-- sealed when a key-encryption key is configured; last_step is the last
-- accepted time step (a code of that step or earlier is a replay).
CREATE TABLE mfa_totp (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    created_at   DATETIME NOT NULL,
    confirmed_at DATETIME,
    last_step    BIGINT NOT NULL DEFAULT 0
);

-- The SHA-256 of each recovery code; used_at is set once, when it is used.
CREATE TABLE mfa_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    used_at DATETIME,
    PRIMARY KEY (user_id, hash)
);

-- A login between its password and its second factor, by the SHA-256 of
-- its mfa_token. grant_type is how the login came (password, get_token);
-- scope is a JSON list like the other scope columns.
CREATE TABLE mfa_tokens (
    hash       BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_stamp BIGINT NOT NULL,
    scope      TEXT NOT NULL DEFAULT '[]',
    grant_type TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    used_at    DATETIME
);
-- Pruning goes by expiry; the cascade from users finds a user's tokens.
CREATE INDEX mfa_tokens_expires_at_idx ON mfa_tokens (expires_at);
CREATE INDEX mfa_tokens_user_id_idx ON mfa_tokens (user_id);
