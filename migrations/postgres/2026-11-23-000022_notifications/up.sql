-- Citizen notifications (docs/notifications.md): one message per (event,
-- channel) rendered from the outbox, admin overrides of the built-in
-- templates, the applicants' opt-outs, and the worker's place in the feed.
--
-- The worker reads the events after its cursor, inserts their messages and
-- moves the cursor in one transaction with the cursor row locked, so an
-- event is turned into messages once however many processes run; the
-- UNIQUE (event_id, channel) holds even if that were ever got wrong.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    event_type TEXT NOT NULL,
    -- The dossier it is about (NULL for feedback), for the dossier's list.
    dossier_code TEXT,
    applicant_id BIGINT REFERENCES applicants (id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    -- The phone number or e-mail address it goes to.
    recipient TEXT NOT NULL,
    -- The e-mail subject (NULL for an SMS).
    subject TEXT,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    -- The process sending it now, until lease_until (taken over once passed).
    claimed_by TEXT,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    UNIQUE (event_id, channel)
);
CREATE INDEX notifications_due_idx ON notifications (status, next_attempt_at);
CREATE INDEX notifications_dossier_idx ON notifications (dossier_code, id);

-- An admin's wording for an event type and channel, instead of the built-in one.
CREATE TABLE notification_templates (
    event_type TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    subject TEXT,
    body TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_type, channel)
);

-- Channels an applicant does not want notifications on (one-time codes still go).
CREATE TABLE notification_opt_outs (
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (applicant_id, channel)
);

-- The notification worker's place in the feed (events.tx, events.position),
-- starting after the events that exist when this migration runs: a server
-- upgraded on a live database does not notify citizens of old changes.
CREATE TABLE notification_feed (
    name TEXT PRIMARY KEY NOT NULL,
    cursor_tx BIGINT NOT NULL,
    cursor_position BIGINT NOT NULL
);
INSERT INTO notification_feed (name, cursor_tx, cursor_position)
SELECT 'notifications', COALESCE(MAX(tx), 0), COALESCE(MAX(position), 0) FROM events;
