-- Who changed what: an append-only trail of administrative changes, and every
-- version of every procedure kept whole. Neither table accepts UPDATE, DELETE
-- or TRUNCATE: a trigger refuses them, whoever asks.

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    -- NULL for the system itself (seed, command line, start-up).
    actor_id BIGINT,
    -- The actor as they were at the time: accounts can be renamed later.
    actor_username TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    client_addr TEXT,
    request_id TEXT,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    -- JSON snapshots; NULL before a creation and after a removal.
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (at, id);

CREATE TABLE procedure_versions (
    procedure_id BIGINT NOT NULL REFERENCES procedures (id),
    version INTEGER NOT NULL,
    code TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    agency_id BIGINT,
    -- The whole spec of this version, as `procedures.spec` held it.
    spec TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by BIGINT,
    changed_by_name TEXT NOT NULL,
    PRIMARY KEY (procedure_id, version)
);

-- Procedures published before this migration: their current version is the
-- first one known.
INSERT INTO procedure_versions
    (procedure_id, version, code, action, status, agency_id, spec, changed_at, changed_by, changed_by_name)
SELECT id, version, code, 'baseline', status, agency_id, spec, updated_at, NULL, 'system'
FROM procedures;

CREATE FUNCTION motcua_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION motcua_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_append_only();
CREATE TRIGGER procedure_versions_append_only
    BEFORE UPDATE OR DELETE ON procedure_versions
    FOR EACH ROW EXECUTE FUNCTION motcua_append_only();
CREATE TRIGGER procedure_versions_no_truncate
    BEFORE TRUNCATE ON procedure_versions
    FOR EACH STATEMENT EXECUTE FUNCTION motcua_append_only();
