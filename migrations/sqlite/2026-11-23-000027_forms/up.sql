-- E-forms (docs/forms.md): each procedure's form definitions, one row per
-- version (a JSON document: the JSON Schema 2020-12 of the data and the
-- presentation hints), and the form data each dossier was filed with,
-- under the version it was filed with.
CREATE TABLE procedure_forms (
    procedure_id BIGINT NOT NULL REFERENCES procedures (id),
    -- 1, 2, 3… per procedure; the highest is the one filings use.
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (procedure_id, version)
);

CREATE TABLE dossier_forms (
    dossier_id BIGINT PRIMARY KEY REFERENCES dossiers (id),
    procedure_id BIGINT NOT NULL,
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    form_version INTEGER NOT NULL,
    -- The form data as filed (JSON).
    data TEXT NOT NULL,
    -- JSON array of the pointers whose value equals what /me/prefill offered
    -- for them, each with its source: [{"pointer": "/x", "source": "dossier"}].
    prefilled TEXT NOT NULL,
    -- Some value came from an earlier dossier's form data: counts toward the
    -- data-reuse KPI (d3_reuse) once the dossier is received.
    reused BOOLEAN NOT NULL,
    -- JSON array of the pointers the latest supplement request names.
    supplement_fields TEXT NOT NULL DEFAULT '[]',
    FOREIGN KEY (procedure_id, form_version) REFERENCES procedure_forms (procedure_id, version)
);

-- The applicant's latest form data for a procedure (pre-fill).
CREATE INDEX dossier_forms_applicant ON dossier_forms (applicant_id, procedure_id, dossier_id);
