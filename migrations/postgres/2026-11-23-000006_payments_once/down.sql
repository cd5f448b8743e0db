ALTER TABLE reconciliation_runs DROP COLUMN overpaid;
DELETE FROM reconciliation_items WHERE result = 'overpaid';
ALTER TABLE reconciliation_items DROP CONSTRAINT reconciliation_items_result_check;
ALTER TABLE reconciliation_items ADD CONSTRAINT reconciliation_items_result_check
    CHECK (result IN ('matched', 'missing', 'mismatch'));

DROP INDEX refunds_proposed_idx;
ALTER TABLE refunds DROP COLUMN approved_at;
ALTER TABLE refunds DROP COLUMN approved_by;
-- Proposals never approved had no money moved; they were never refunds before.
DELETE FROM refunds WHERE status = 'proposed';
UPDATE refunds SET created_by = (SELECT MIN(id) FROM users WHERE role = 'admin') WHERE created_by IS NULL;
ALTER TABLE refunds ALTER COLUMN created_by SET NOT NULL;
ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
    CHECK (status IN ('submitted', 'success', 'error'));

ALTER TABLE dossiers DROP CONSTRAINT dossiers_fees_paid_within_due;
DROP INDEX payments_one_settlement_per_dossier;
DROP INDEX payments_one_open_per_dossier;
ALTER TABLE payments DROP CONSTRAINT payments_applied_within_amount;
ALTER TABLE payments DROP COLUMN applied_vnd;
