DROP TABLE integration_access_log;
DROP TABLE integration_grants;
DROP TABLE identity_mismatches;
DROP TABLE identity_attempts;
DROP TABLE identity_verifications;
