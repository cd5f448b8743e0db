-- Revoked results and results of several files (docs/results.md).

-- The signed text's format of a version (1: the first file's hash only; 2:
-- every file's hash), and for format 2 every file's SHA-256, hex, in the
-- order attached, separated by single spaces ('' for a result on paper only).
-- `file_sha256` keeps the first file's hash.
ALTER TABLE result_versions ADD COLUMN signed_format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE result_versions ADD COLUMN files_sha256 TEXT;

-- A result version withdrawn by its agency: once, with why, who and when,
-- signed as such by the agency's key in use at the time. The primary key
-- keeps a version from being revoked twice.
CREATE TABLE result_revocations (
    code TEXT PRIMARY KEY REFERENCES result_versions (code),
    reason TEXT NOT NULL,
    revoked_by BIGINT NOT NULL REFERENCES users (id),
    revoked_at TIMESTAMP NOT NULL,
    kid TEXT NOT NULL REFERENCES signing_keys (kid),
    -- Ed25519 over the revocation's canonical text, base64url.
    signature TEXT NOT NULL
);
