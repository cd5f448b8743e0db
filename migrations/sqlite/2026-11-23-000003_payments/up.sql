-- Online payment of fees: attempts, their transitions, refunds, reconciliation,
-- and the built-in sandbox gateway's own records.

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    method TEXT NOT NULL CHECK (method IN ('online', 'counter')),
    gateway TEXT NOT NULL,
    -- Our reference at the gateway (vnp_TxnRef): unique, never reused.
    txn_ref TEXT NOT NULL UNIQUE,
    amount_vnd BIGINT NOT NULL CHECK (amount_vnd > 0),
    status TEXT NOT NULL CHECK (status IN ('created', 'started', 'submitted', 'success', 'failed', 'cancelled', 'error')),
    failure_code TEXT,
    next_url TEXT,
    client_ip TEXT,
    receipt_number TEXT,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    gateway_txn_no TEXT,
    bank_code TEXT,
    paid_at TIMESTAMP,
    -- A success recorded after we had expired the attempt (money was taken).
    corrected BOOLEAN NOT NULL DEFAULT 0,
    next_check_at TIMESTAMP,
    check_attempts INTEGER NOT NULL DEFAULT 0,
    -- A job process holds the row until then.
    claimed_until TIMESTAMP
);
CREATE INDEX payments_dossier_idx ON payments (dossier_id);
CREATE INDEX payments_status_idx ON payments (status, expires_at);
CREATE INDEX payments_created_idx ON payments (created_at);

-- Applied transitions; a gateway event (transaction number and kind) applies once.
CREATE TABLE payment_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    gateway TEXT NOT NULL,
    gateway_txn_no TEXT,
    kind TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    detail TEXT,
    at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX payment_events_once ON payment_events (gateway, gateway_txn_no, kind);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);

-- Every notification as received, before any check: the audit of the gateway's word.
CREATE TABLE gateway_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway TEXT NOT NULL,
    raw_query TEXT NOT NULL,
    txn_ref TEXT,
    reply_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX gateway_notifications_ref_idx ON gateway_notifications (txn_ref);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount_vnd BIGINT NOT NULL CHECK (amount_vnd > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'success', 'error')),
    gateway_ref TEXT,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

CREATE TABLE reconciliation_runs (
    day DATE PRIMARY KEY NOT NULL,
    run_at TIMESTAMP NOT NULL,
    matched INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    mismatch INTEGER NOT NULL
);

CREATE TABLE reconciliation_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day DATE NOT NULL,
    txn_ref TEXT NOT NULL,
    payment_id TEXT,
    result TEXT NOT NULL CHECK (result IN ('matched', 'missing', 'mismatch')),
    our_status TEXT,
    our_amount_vnd BIGINT,
    gateway_status TEXT,
    gateway_amount_vnd BIGINT,
    detail TEXT,
    UNIQUE (day, txn_ref)
);

-- The sandbox gateway's side of each transaction (development only).
CREATE TABLE sandbox_transactions (
    txn_ref TEXT PRIMARY KEY NOT NULL,
    txn_no TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'declined', 'cancelled', 'held')),
    response_code TEXT,
    pay_date TEXT,
    refunded BIGINT NOT NULL DEFAULT 0,
    queries INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
