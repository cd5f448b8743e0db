-- The outbox: one row per change others may follow (docs/events.md), written
-- in the same transaction as the change, read by the change feed, webhooks and
-- notifications.
--
-- SQLite has one writer at a time, so positions are taken in commit order and
-- the feed reads by position alone; `tx` is kept for the same shape as
-- PostgreSQL, where it is the writing transaction's id (see that migration).
CREATE TABLE events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    tx BIGINT NOT NULL DEFAULT 0,
    -- Stable public id (UUID): the webhook-id receivers de-duplicate by.
    id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    agency_id BIGINT REFERENCES agencies (id),
    occurred_at TIMESTAMP NOT NULL,
    -- The versioned JSON payload of the type.
    payload TEXT NOT NULL
);
CREATE INDEX events_feed_idx ON events (tx, position);
CREATE INDEX events_subject_idx ON events (subject_kind, subject, position);
