-- A dossier's fee is settled once, whatever route the money takes; money that
-- arrives anyway is kept on its payment as a surplus and proposed for refund.

-- The part of a successful payment counted toward the dossier's fee; the rest
-- (amount_vnd - applied_vnd) is a surplus to give back.
ALTER TABLE payments ADD COLUMN applied_vnd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD CONSTRAINT payments_applied_within_amount
    CHECK (applied_vnd >= 0 AND applied_vnd <= amount_vnd);

-- Existing data: the first success of each dossier pays the fee (up to what is
-- due); later ones become surpluses. Duplicate open attempts are closed as superseded.
UPDATE payments SET applied_vnd = LEAST(payments.amount_vnd, d.fees_due_vnd)
FROM dossiers d
WHERE d.id = payments.dossier_id AND payments.status = 'success'
  AND payments.id = (
    SELECT p2.id FROM payments p2
    WHERE p2.dossier_id = payments.dossier_id AND p2.status = 'success'
    ORDER BY p2.created_at, p2.id LIMIT 1);
UPDATE payments SET status = 'cancelled', failure_code = 'superseded', next_url = NULL
WHERE status IN ('created', 'started', 'submitted')
  AND id <> (
    SELECT p2.id FROM payments p2
    WHERE p2.dossier_id = payments.dossier_id AND p2.status IN ('created', 'started', 'submitted')
    ORDER BY p2.created_at DESC, p2.id LIMIT 1);
UPDATE dossiers SET fees_paid_vnd = LEAST(fees_paid_vnd, fees_due_vnd);

-- One open attempt per dossier, one settlement of its fee, never more paid than due.
CREATE UNIQUE INDEX payments_one_open_per_dossier ON payments (dossier_id)
    WHERE status IN ('created', 'started', 'submitted');
CREATE UNIQUE INDEX payments_one_settlement_per_dossier ON payments (dossier_id)
    WHERE applied_vnd > 0;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_fees_paid_within_due
    CHECK (fees_paid_vnd >= 0 AND fees_paid_vnd <= fees_due_vnd);

-- Refunds the system proposes (a surplus) wait for a person's approval.
ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
    CHECK (status IN ('proposed', 'submitted', 'success', 'error'));
ALTER TABLE refunds ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE refunds ADD COLUMN approved_by BIGINT REFERENCES users (id);
ALTER TABLE refunds ADD COLUMN approved_at TIMESTAMP;
CREATE INDEX refunds_proposed_idx ON refunds (status) WHERE status = 'proposed';

-- Surpluses found by the upgrade get their refund proposed, like new ones.
INSERT INTO refunds (id, payment_id, amount_vnd, reason, status, created_by, created_at)
SELECT 'migrated-' || p.id, p.id,
       p.amount_vnd - p.applied_vnd - COALESCE((SELECT SUM(r.amount_vnd) FROM refunds r
            WHERE r.payment_id = p.id AND r.status <> 'error'), 0),
       'Tiền nộp thừa: phí của hồ sơ đã được thanh toán', 'proposed', NULL, (now() AT TIME ZONE 'UTC')
FROM payments p
WHERE p.status = 'success'
  AND p.amount_vnd - p.applied_vnd - COALESCE((SELECT SUM(r.amount_vnd) FROM refunds r
            WHERE r.payment_id = p.id AND r.status <> 'error'), 0) > 0;

-- Reconciliation flags a dossier paid more than due.
ALTER TABLE reconciliation_items DROP CONSTRAINT reconciliation_items_result_check;
ALTER TABLE reconciliation_items ADD CONSTRAINT reconciliation_items_result_check
    CHECK (result IN ('matched', 'missing', 'mismatch', 'overpaid'));
ALTER TABLE reconciliation_runs ADD COLUMN overpaid INTEGER NOT NULL DEFAULT 0;
