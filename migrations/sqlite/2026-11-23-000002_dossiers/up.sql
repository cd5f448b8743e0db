-- Dossier lifecycle: working calendar, documents, dossiers and their trail.

CREATE TABLE calendar_days (
    day DATE PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'working')),
    name TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by BIGINT REFERENCES users (id)
);

-- Years whose official holidays were seeded, so admin edits are never overwritten.
CREATE TABLE calendar_seeded_years (
    year INTEGER PRIMARY KEY NOT NULL,
    seeded_at TIMESTAMP NOT NULL
);

CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    applicant_id BIGINT REFERENCES applicants (id),
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('input', 'result')),
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    -- In the applicant's store, reusable for later dossiers.
    in_store BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_applicant_idx ON documents (applicant_id, in_store);

CREATE TABLE dossier_sequences (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    day DATE NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (agency_id, day)
);

CREATE TABLE dossiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    procedure_id BIGINT NOT NULL REFERENCES procedures (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    handling_agency_id BIGINT NOT NULL REFERENCES agencies (id),
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    submitted_by BIGINT NOT NULL REFERENCES users (id),
    channel TEXT NOT NULL CHECK (channel IN ('counter', 'online', 'postal')),
    result_channel TEXT NOT NULL CHECK (result_channel IN ('counter', 'online', 'postal')),
    status TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users (id),
    -- A division of the handling agency the dossier is routed to.
    assigned_unit_id BIGINT REFERENCES agencies (id),
    time_unit TEXT NOT NULL,
    allowed_time INTEGER NOT NULL,
    regulated_days INTEGER NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP,
    due_at TIMESTAMP,
    appointment_at TIMESTAMP,
    paused_at TIMESTAMP,
    -- JSON: what was left of the clock when it stopped.
    paused_remaining TEXT,
    supplement_from TEXT,
    supplement_count INTEGER NOT NULL DEFAULT 0,
    processed_at TIMESTAMP,
    finished_at TIMESTAMP,
    fees_due_vnd BIGINT NOT NULL DEFAULT 0,
    fees_paid_vnd BIGINT NOT NULL DEFAULT 0,
    -- JSON: the fee items charged, frozen at submission.
    fees TEXT NOT NULL,
    search_text TEXT NOT NULL,
    note TEXT,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dossiers_status_due_idx ON dossiers (status, due_at);
CREATE INDEX dossiers_handling_idx ON dossiers (handling_agency_id, status);
CREATE INDEX dossiers_agency_idx ON dossiers (agency_id, submitted_at);
CREATE INDEX dossiers_applicant_idx ON dossiers (applicant_id);

-- Every agency a dossier has passed through may see it.
CREATE TABLE dossier_agencies (
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    PRIMARY KEY (dossier_id, agency_id)
);
CREATE INDEX dossier_agencies_agency_idx ON dossier_agencies (agency_id);

CREATE TABLE dossier_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    requirement TEXT,
    document_id TEXT REFERENCES documents (id),
    -- Handed in on paper at the counter, not digitized.
    paper BOOLEAN NOT NULL DEFAULT 0,
    -- Cited from the applicant's store instead of a new upload.
    reused BOOLEAN NOT NULL DEFAULT 0,
    stage TEXT NOT NULL CHECK (stage IN ('submission', 'supplement', 'result')),
    added_at TIMESTAMP NOT NULL
);
CREATE INDEX dossier_documents_dossier_idx ON dossier_documents (dossier_id);
CREATE INDEX dossier_documents_document_idx ON dossier_documents (document_id);

CREATE TABLE dossier_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    actor_role TEXT NOT NULL,
    actor_agency_id BIGINT REFERENCES agencies (id),
    note TEXT,
    -- JSON: what else the action carried (assignee, missing items, new appointment…).
    data TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX dossier_events_dossier_idx ON dossier_events (dossier_id, id);

CREATE TABLE supplement_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    -- JSON list of what is missing.
    items TEXT NOT NULL,
    deadline DATE NOT NULL,
    supplemented_at TIMESTAMP
);
CREATE INDEX supplement_requests_dossier_idx ON supplement_requests (dossier_id);

CREATE TABLE apology_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    reason TEXT NOT NULL,
    new_appointment_date DATE NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX apology_letters_dossier_idx ON apology_letters (dossier_id);

CREATE TABLE dossier_ratings (
    dossier_id BIGINT PRIMARY KEY NOT NULL REFERENCES dossiers (id),
    score TEXT NOT NULL CHECK (score IN ('satisfied', 'normal', 'unsatisfied')),
    comment TEXT,
    rated_by BIGINT NOT NULL REFERENCES users (id),
    rated_at TIMESTAMP NOT NULL
);

CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status INTEGER,
    response_body TEXT,
    resource_id TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (caller, key)
);
