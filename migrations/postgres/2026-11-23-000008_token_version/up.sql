-- Access tokens carry the account's version; locking, a role or agency
-- change, a new password and "log out everywhere" bump it, so tokens issued
-- before stop working on the next request (issue 9, point 3).
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
