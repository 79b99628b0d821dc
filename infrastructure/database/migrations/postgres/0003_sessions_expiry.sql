-- +goose Up
-- Expired sessions are pruned in batches in expiry order (PruneSessions);
-- this index finds them without scanning every live session, and the id
-- makes the batch order total.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at, id);
