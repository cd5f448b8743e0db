DROP TABLE result_revocations;
ALTER TABLE result_versions DROP COLUMN files_sha256;
ALTER TABLE result_versions DROP COLUMN signed_format;
