-- +goose Up
-- Auth events, webhooks and the webhook outbox (DESIGN.md "Sessions,
-- devices and auth events"). An event is written in the transaction of the
-- change it records, with one delivery per webhook that wants its type.
-- Events have no foreign key to users: a deleted user's events stay.

-- id is a UUIDv7 of time, so ORDER BY id is time order. Empty strings stand
-- for absent fields; details is the JSON of domain.EventDetails ('{}' when
-- empty).
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    time       DATETIME NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    actor_type TEXT NOT NULL DEFAULT '',
    actor_id   TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}'
);
-- The admin and self-service lists page newest first by id, filtered by
-- user or by type; pruning goes by time.
CREATE INDEX events_user_id_idx ON events (user_id, id);
CREATE INDEX events_type_idx ON events (type, id);
CREATE INDEX events_time_idx ON events (time);

-- events holds the wanted types as ' a b ' (spaces around each, so a type
-- matches as ' type '), or '' for every type.
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL DEFAULT '',
    secret     TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

-- The outbox: one row per (event, webhook). claim and claimed_until mark a
-- replica's lease on a row while it sends ('' and NULL when unclaimed).
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_time       DATETIME NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_attempt_at  DATETIME NOT NULL,
    claim            TEXT NOT NULL DEFAULT '',
    claimed_until    DATETIME,
    updated_at       DATETIME NOT NULL
);
-- Claiming finds pending rows due first; the admin list reads one
-- webhook's newest; pruning and the cascade find an event's rows.
CREATE INDEX deliveries_due_idx ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_webhook_id_idx ON deliveries (webhook_id, event_time);
CREATE INDEX deliveries_event_id_idx ON deliveries (event_id);
