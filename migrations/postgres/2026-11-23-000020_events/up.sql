-- The outbox: one row per change others may follow (docs/events.md), written
-- in the same transaction as the change, read by the change feed, webhooks and
-- notifications.
--
-- Positions come from a sequence, which is not commit-ordered: a transaction
-- may take position 10, commit after the one that took 11, and a reader that
-- had moved past 11 would never see 10. So each row also records the id of
-- the transaction that wrote it, and the feed reads in (tx, position) order
-- only below the oldest transaction still running: every transaction below
-- that horizon has ended, so nothing can appear behind the reader's cursor.
CREATE TABLE events (
    position BIGSERIAL PRIMARY KEY,
    tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
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
