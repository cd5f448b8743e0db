DROP TABLE sandbox_transactions;
DROP TABLE reconciliation_items;
DROP TABLE reconciliation_runs;
DROP TABLE refunds;
DROP TABLE gateway_notifications;
DROP TABLE payment_events;
DROP TABLE payments;
