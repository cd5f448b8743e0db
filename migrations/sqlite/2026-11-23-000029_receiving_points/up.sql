-- Decree 118/2025: a dossier may be handed in at any public service centre
-- or commune counter of the province. An agency configured as a receiving
-- point takes dossiers for the procedures of other agencies; the dossier
-- belongs to the competent agency (codes, handling, KPIs) and remembers the
-- counter that took it in.
ALTER TABLE agencies ADD COLUMN receiving_point BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN received_at_agency_id BIGINT REFERENCES agencies (id);
CREATE INDEX dossiers_received_at_agency ON dossiers (received_at_agency_id)
    WHERE received_at_agency_id IS NOT NULL;
