DROP TABLE dossier_form_revisions;
ALTER TABLE dossier_forms DROP COLUMN revision;
