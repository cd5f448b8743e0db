-- A dossier's fee is settled once, whatever route the money takes; money that
-- arrives anyway is kept on its payment as a surplus and proposed for refund.

-- The part of a successful payment counted toward the dossier's fee; the rest
-- (amount_vnd - applied_vnd) is a surplus to give back.
ALTER TABLE payments ADD COLUMN applied_vnd BIGINT NOT NULL DEFAULT 0
    CHECK (applied_vnd >= 0 AND applied_vnd <= amount_vnd);

-- Existing data: the first success of each dossier pays the fee (up to what is
-- due); later ones become surpluses. Duplicate open attempts are closed as superseded.
UPDATE payments SET applied_vnd = MIN(amount_vnd,
        (SELECT d.fees_due_vnd FROM dossiers d WHERE d.id = payments.dossier_id))
WHERE status = 'success'
  AND id = (
    SELECT p2.id FROM payments p2
    WHERE p2.dossier_id = payments.dossier_id AND p2.status = 'success'
    ORDER BY p2.created_at, p2.id LIMIT 1);
UPDATE payments SET status = 'cancelled', failure_code = 'superseded', next_url = NULL
WHERE status IN ('created', 'started', 'submitted')
  AND id <> (
    SELECT p2.id FROM payments p2
    WHERE p2.dossier_id = payments.dossier_id AND p2.status IN ('created', 'started', 'submitted')
    ORDER BY p2.created_at DESC, p2.id LIMIT 1);
UPDATE dossiers SET fees_paid_vnd = MIN(fees_paid_vnd, fees_due_vnd) WHERE fees_paid_vnd > fees_due_vnd;

-- One open attempt per dossier, one settlement of its fee, never more paid than due.
CREATE UNIQUE INDEX payments_one_open_per_dossier ON payments (dossier_id)
    WHERE status IN ('created', 'started', 'submitted');
CREATE UNIQUE INDEX payments_one_settlement_per_dossier ON payments (dossier_id)
    WHERE applied_vnd > 0;
-- SQLite cannot add a CHECK to an existing table: triggers hold the same rule.
CREATE TRIGGER dossiers_fees_paid_within_due_insert BEFORE INSERT ON dossiers
WHEN NEW.fees_paid_vnd < 0 OR NEW.fees_paid_vnd > NEW.fees_due_vnd
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: dossiers_fees_paid_within_due');
END;
CREATE TRIGGER dossiers_fees_paid_within_due_update BEFORE UPDATE OF fees_paid_vnd, fees_due_vnd ON dossiers
WHEN NEW.fees_paid_vnd < 0 OR NEW.fees_paid_vnd > NEW.fees_due_vnd
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: dossiers_fees_paid_within_due');
END;

-- Refunds the system proposes (a surplus) wait for a person's approval.
CREATE TABLE refunds_new (
    id TEXT PRIMARY KEY NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount_vnd BIGINT NOT NULL CHECK (amount_vnd > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'submitted', 'success', 'error')),
    gateway_ref TEXT,
    -- NULL: proposed by the system.
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    approved_by BIGINT REFERENCES users (id),
    approved_at TIMESTAMP
);
INSERT INTO refunds_new (id, payment_id, amount_vnd, reason, status, gateway_ref, created_by, created_at, finished_at)
SELECT id, payment_id, amount_vnd, reason, status, gateway_ref, created_by, created_at, finished_at FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_new RENAME TO refunds;
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
CREATE INDEX refunds_proposed_idx ON refunds (status) WHERE status = 'proposed';

-- Surpluses found by the upgrade get their refund proposed, like new ones.
INSERT INTO refunds (id, payment_id, amount_vnd, reason, status, created_by, created_at)
SELECT 'migrated-' || p.id, p.id,
       p.amount_vnd - p.applied_vnd - COALESCE((SELECT SUM(r.amount_vnd) FROM refunds r
            WHERE r.payment_id = p.id AND r.status <> 'error'), 0),
       'Tiền nộp thừa: phí của hồ sơ đã được thanh toán', 'proposed', NULL, CURRENT_TIMESTAMP
FROM payments p
WHERE p.status = 'success'
  AND p.amount_vnd - p.applied_vnd - COALESCE((SELECT SUM(r.amount_vnd) FROM refunds r
            WHERE r.payment_id = p.id AND r.status <> 'error'), 0) > 0;

-- Reconciliation flags a dossier paid more than due.
CREATE TABLE reconciliation_items_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day DATE NOT NULL,
    txn_ref TEXT NOT NULL,
    payment_id TEXT,
    result TEXT NOT NULL CHECK (result IN ('matched', 'missing', 'mismatch', 'overpaid')),
    our_status TEXT,
    our_amount_vnd BIGINT,
    gateway_status TEXT,
    gateway_amount_vnd BIGINT,
    detail TEXT,
    UNIQUE (day, txn_ref)
);
INSERT INTO reconciliation_items_new SELECT * FROM reconciliation_items;
DROP TABLE reconciliation_items;
ALTER TABLE reconciliation_items_new RENAME TO reconciliation_items;
ALTER TABLE reconciliation_runs ADD COLUMN overpaid INTEGER NOT NULL DEFAULT 0;
