-- Identity before access (issue 9 point 2). A citizen account is unverified
-- until it proves it is the person of its ID number (a one-time code to the
-- contact on the agency's records, an officer at the counter, later an
-- identity provider); only then does it see what was filed under that number
-- elsewhere. Accounts without a row here are unverified, so every account
-- that existed before this migration starts unverified and keeps seeing the
-- dossiers it filed itself.

CREATE TABLE identity_verifications (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('unverified', 'verified')),
    method TEXT CHECK (method IN ('otp', 'counter', 'oidc')),
    applicant_id BIGINT REFERENCES applicants (id),
    verified_by BIGINT REFERENCES users (id),
    verified_at TIMESTAMP,
    note TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- Every attempt to link an account to a person: one-time codes sent (only
-- their hash), counter checks, identity-provider logins, and how each ended.
CREATE TABLE identity_attempts (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    method TEXT NOT NULL CHECK (method IN ('otp', 'counter', 'oidc')),
    channel TEXT,
    destination TEXT,
    code_hash TEXT,
    expires_at TIMESTAMP,
    tries INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'verified', 'expired', 'exhausted', 'superseded', 'mismatch')),
    actor_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX identity_attempts_user_idx ON identity_attempts (user_id, created_at);

-- Names that did not match when an account asked to be linked: for staff.
CREATE TABLE identity_mismatches (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    account_name TEXT NOT NULL,
    record_name TEXT NOT NULL,
    method TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX identity_mismatches_created_idx ON identity_mismatches (created_at);

-- Agencies whose dossiers an integration account may read besides its own filings.
CREATE TABLE integration_grants (
    user_id BIGINT NOT NULL REFERENCES users (id),
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    granted_by BIGINT NOT NULL REFERENCES users (id),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, agency_id)
);

-- Every request an integration account makes on dossiers, documents and payments.
CREATE TABLE integration_access_log (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    dossier_code TEXT,
    status INTEGER NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX integration_access_log_user_idx ON integration_access_log (user_id, at);
