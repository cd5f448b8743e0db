DROP TABLE dossier_forms;
DROP TABLE procedure_forms;
