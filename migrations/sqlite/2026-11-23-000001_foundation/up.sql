-- Foundation: agencies, people, sessions, throttling, procedure catalog.
-- Timestamps are UTC, stored by diesel as text 'YYYY-MM-DD HH:MM:SS.ffffff'.

CREATE TABLE agencies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_id BIGINT REFERENCES agencies (id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE applicants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organization')),
    id_number TEXT UNIQUE,
    tax_code TEXT UNIQUE,
    full_name TEXT NOT NULL,
    date_of_birth DATE,
    phone TEXT,
    email TEXT,
    address TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (id_number IS NOT NULL OR tax_code IS NOT NULL)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('citizen', 'officer', 'leader', 'admin', 'integration')),
    agency_id BIGINT REFERENCES agencies (id),
    applicant_id BIGINT UNIQUE REFERENCES applicants (id),
    full_name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    demo BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE INDEX users_agency_idx ON users (agency_id);

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,
    subject TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject)
);

CREATE TABLE sectors (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE procedures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    search_text TEXT NOT NULL,
    sector_code TEXT NOT NULL REFERENCES sectors (code),
    levels TEXT NOT NULL,
    online_level TEXT NOT NULL CHECK (online_level IN ('full', 'partial', 'none')),
    status TEXT NOT NULL CHECK (status IN ('active', 'abolished')),
    agency_id BIGINT REFERENCES agencies (id),
    has_fees BOOLEAN NOT NULL,
    fees_payable_online BOOLEAN NOT NULL,
    complete BOOLEAN NOT NULL,
    spec TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    abolished_at TIMESTAMP
);
CREATE INDEX procedures_sector_idx ON procedures (sector_code);
CREATE INDEX procedures_status_idx ON procedures (status);
CREATE INDEX procedures_agency_idx ON procedures (agency_id);
