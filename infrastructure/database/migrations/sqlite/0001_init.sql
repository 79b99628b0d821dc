-- +goose Up
-- Initial schema (SQLite). Times are DATETIME columns holding UTC text;
-- the store always writes UTC so text order is time order.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    not_before    DATETIME,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '[]',
    created_at  DATETIME NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope            TEXT NOT NULL DEFAULT '[]',
    created_at       DATETIME NOT NULL,
    expires_at       DATETIME NOT NULL,
    generation       BIGINT NOT NULL DEFAULT 0,
    rotated_at       DATETIME,
    sealed_successor BLOB,
    revoked_at       DATETIME
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- AUTOINCREMENT: a seq is never reused, even after pruning, because it is
-- the feed's cursor.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    at         DATETIME NOT NULL,
    expires    DATETIME NOT NULL
);
CREATE INDEX revocations_expires_idx ON revocations (expires);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    private    BLOB NOT NULL,
    created_at DATETIME NOT NULL,
    retired_at DATETIME
);
