ALTER TABLE reconciliation_runs DROP COLUMN overpaid;
CREATE TABLE reconciliation_items_old (
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
INSERT INTO reconciliation_items_old SELECT * FROM reconciliation_items WHERE result <> 'overpaid';
DROP TABLE reconciliation_items;
ALTER TABLE reconciliation_items_old RENAME TO reconciliation_items;

CREATE TABLE refunds_old (
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
-- Proposals never approved had no money moved; they were never refunds before.
INSERT INTO refunds_old
SELECT id, payment_id, amount_vnd, reason, status, gateway_ref,
       COALESCE(created_by, approved_by, (SELECT MIN(id) FROM users WHERE role = 'admin')),
       created_at, finished_at
FROM refunds WHERE status <> 'proposed';
DROP TABLE refunds;
ALTER TABLE refunds_old RENAME TO refunds;
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

DROP TRIGGER dossiers_fees_paid_within_due_update;
DROP TRIGGER dossiers_fees_paid_within_due_insert;
DROP INDEX payments_one_settlement_per_dossier;
DROP INDEX payments_one_open_per_dossier;
ALTER TABLE payments DROP COLUMN applied_vnd;
