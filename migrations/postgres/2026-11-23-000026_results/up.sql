-- Results by post, corrected results and results anyone can verify
-- (docs/results.md).

-- Where a result goes by post (dịch vụ bưu chính công ích): chosen by the
-- applicant at submission or later, before the result leaves the counter.
CREATE TABLE postal_returns (
    dossier_id BIGINT PRIMARY KEY REFERENCES dossiers (id),
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    fee_vnd BIGINT NOT NULL DEFAULT 0 CHECK (fee_vnd >= 0),
    -- The postal service's tracking number of the last hand-over.
    tracking_number TEXT,
    posted_at TIMESTAMP,
    delivered_at TIMESTAMP,
    -- Deliveries that failed (the result came back to the counter).
    failures INTEGER NOT NULL DEFAULT 0,
    chosen_at TIMESTAMP NOT NULL
);
CREATE INDEX postal_returns_posted_idx ON postal_returns (posted_at);

-- The agencies' Ed25519 keys. The secret half is sealed (AES-256-GCM under a
-- key derived from the server's secret) and never leaves the server; a key
-- is retired, never deleted, so what it signed still verifies.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    alg TEXT NOT NULL CHECK (alg = 'EdDSA'),
    -- The 32-byte public key, base64url without padding.
    public_key TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
-- One key in use per agency.
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys (agency_id) WHERE retired_at IS NULL;

-- Every issued result version: the first at issue_result, one more per
-- correction (đính chính). The facts signed are frozen here.
CREATE TABLE result_versions (
    -- The public verification code (160 random bits, base32).
    code TEXT PRIMARY KEY,
    dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    number TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    agency_code TEXT NOT NULL,
    agency_name TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    procedure_name TEXT NOT NULL,
    -- SHA-256 of the result file, hex (NULL: a result on paper only).
    file_sha256 TEXT,
    standing TEXT NOT NULL CHECK (standing IN ('valid', 'superseded', 'revoked')),
    standing_changed_at TIMESTAMP,
    kid TEXT NOT NULL REFERENCES signing_keys (kid),
    -- Ed25519 over the canonical text of the issued facts, base64url.
    signature TEXT NOT NULL,
    -- A correction: who asked, when, why, and its own due moment.
    correction_reason TEXT,
    requested_by TEXT CHECK (requested_by IN ('applicant', 'agency')),
    requested_at TIMESTAMP,
    due_at TIMESTAMP,
    created_by BIGINT NOT NULL REFERENCES users (id),
    UNIQUE (dossier_id, version)
);
CREATE INDEX result_versions_corrections_idx ON result_versions (issued_at) WHERE version > 1;
