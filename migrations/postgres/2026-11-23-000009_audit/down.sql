DROP TABLE procedure_versions;
DROP TABLE audit_log;
DROP FUNCTION motcua_append_only();
