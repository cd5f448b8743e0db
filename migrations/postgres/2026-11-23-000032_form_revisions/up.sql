-- Corrected form data sent with a supplement (docs/forms.md): the dossier's
-- form data is replaced by the corrected version, checked against the form
-- version the dossier was filed under; each superseded version is kept here.
ALTER TABLE dossier_forms ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

CREATE TABLE dossier_form_revisions (
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    -- The revision the data was (1: as filed).
    revision INTEGER NOT NULL,
    -- The form data of that revision (JSON).
    data TEXT NOT NULL,
    -- When and by whom it was replaced by the next revision.
    replaced_at TIMESTAMP NOT NULL,
    replaced_by BIGINT REFERENCES users (id),
    PRIMARY KEY (dossier_id, revision)
);
