-- +goose Up
-- Sessions as devices (DESIGN.md "Sessions, devices and auth events"):
-- when each was last refreshed, and the address and User-Agent (at most
-- 256 characters) of the login that opened it. Existing sessions were last
-- used when their current generation was issued.
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_used_at = COALESCE(rotated_at, created_at);
