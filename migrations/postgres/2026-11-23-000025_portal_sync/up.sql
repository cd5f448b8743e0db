-- National Public Service Portal synchronisation (docs/portal.md).
--
-- One row per dossier the portal must hear about: the worker reads the
-- outbox after its cursor (notification_feed row 'portal'), marks the
-- dossiers that changed as pending and moves the cursor in one transaction;
-- then it claims the due rows (a lease, `FOR UPDATE SKIP LOCKED`) and pushes
-- each dossier's current status. `generation` grows with every change, so a
-- push that raced a newer change leaves the row pending.
CREATE TABLE portal_sync (
    dossier_id BIGINT PRIMARY KEY NOT NULL REFERENCES dossiers (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed')),
    -- The last status code (1–10) the portal accepted; NULL: none yet.
    pushed_code INTEGER CHECK (pushed_code BETWEEN 1 AND 10),
    generation BIGINT NOT NULL DEFAULT 1,
    -- Failed attempts for the current change.
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When to try next; NULL: nothing to do (synced, or attempts spent).
    next_attempt_at TIMESTAMP,
    last_error TEXT,
    -- The oldest change not yet pushed (or the last one pushed, once synced).
    changed_at TIMESTAMP NOT NULL,
    synced_at TIMESTAMP,
    -- Changes that reached the portal later than the rule's time (Decision 766).
    late_changes INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    lease_until TIMESTAMP
);
CREATE INDEX portal_sync_due_idx ON portal_sync (next_attempt_at);
CREATE INDEX portal_sync_status_idx ON portal_sync (status, changed_at);

-- Dossiers filed on the national portal: its code, once, for one dossier.
CREATE TABLE portal_inbound (
    portal_code TEXT PRIMARY KEY NOT NULL,
    dossier_id BIGINT NOT NULL UNIQUE REFERENCES dossiers (id),
    received_at TIMESTAMP NOT NULL
);

INSERT INTO notification_feed (name, cursor_tx, cursor_position)
SELECT 'portal', COALESCE(MAX(tx), 0), COALESCE(MAX(position), 0) FROM events;
