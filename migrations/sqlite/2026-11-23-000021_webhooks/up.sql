-- Webhooks (docs/events.md): subscriptions to the outbox, one delivery per
-- (subscription, event), and a log of every attempt to send one.
--
-- Each subscription follows the feed with its own cursor: the worker reads
-- the events after it (with the subscription's filters), inserts their
-- deliveries and moves the cursor in one transaction, so an event is queued
-- once per subscription however many processes fan out.
CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The admin or integration account that owns it.
    owner_id BIGINT NOT NULL REFERENCES users (id),
    url TEXT NOT NULL,
    -- Event type names separated by spaces; empty: every type.
    event_types TEXT NOT NULL,
    -- Only events of this agency; NULL: every agency's.
    agency_id BIGINT REFERENCES agencies (id),
    -- `whsec_…`, needed in clear to sign. After a rotation the previous one
    -- signs too until `previous_secret_until`, so receivers can switch over.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    disabled_reason TEXT,
    -- The current run of failed attempts (reset by any success).
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since TIMESTAMP,
    -- The subscription's place in the feed (events.tx, events.position).
    cursor_tx BIGINT NOT NULL,
    cursor_position BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_subscriptions_owner_idx ON webhook_subscriptions (owner_id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events (id),
    event_position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts made so far.
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- The process sending it now, until `lease_until`; a lease left by a
    -- process that died is taken over once it has passed.
    claimed_by TEXT,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (subscription_id, event_position);

CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    -- 1 for the first attempt of the delivery.
    attempt INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    -- The receiver's HTTP status; NULL when no response came (see `error`).
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    -- The start of the response body, or why nothing was sent or received.
    response_excerpt TEXT,
    error TEXT,
    -- The process that made the attempt.
    instance TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt);
