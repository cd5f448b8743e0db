DROP TABLE dossier_representatives;
