-- +goose Up
-- Security stamps (DESIGN.md "Credential lifecycle"). Every credential
-- change moves users.stamp on; a session remembers the stamp it was
-- established under and is created or refreshed only while the two match.
-- The unused not_before column goes: the stamp replaces it.
ALTER TABLE users ADD COLUMN stamp BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users DROP COLUMN not_before;
ALTER TABLE sessions ADD COLUMN user_stamp BIGINT NOT NULL DEFAULT 1;
