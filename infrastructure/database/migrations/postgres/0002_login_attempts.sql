-- +goose Up
-- Login throttling counters shared by every replica. Times are Unix
-- microseconds (0 = never), which compares the same on every dialect.
CREATE TABLE login_attempts (
    attempt_key  TEXT COLLATE "C" PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    last_failure BIGINT NOT NULL DEFAULT 0,
    window_start BIGINT NOT NULL DEFAULT 0,
    last_success BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX login_attempts_last_failure ON login_attempts (last_failure);
