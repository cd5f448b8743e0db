DROP INDEX dossiers_received_at_agency;
ALTER TABLE dossiers DROP COLUMN received_at_agency_id;
ALTER TABLE agencies DROP COLUMN receiving_point;
