DROP TABLE feedback_messages;
DROP TABLE feedback;
DROP TABLE queue_waits;
DROP TABLE queue_tickets;
DROP TABLE ticket_sequences;
DROP TABLE kpi_agg;
DROP TABLE dossier_facts;
DROP INDEX dossiers_open_due_idx;
