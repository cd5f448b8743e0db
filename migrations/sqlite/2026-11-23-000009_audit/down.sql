DROP TABLE procedure_versions;
DROP TABLE audit_log;
