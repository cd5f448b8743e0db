DROP TRIGGER procedures_generation ON procedures;
DROP FUNCTION bump_catalog_generation();
DROP TABLE catalog_generation;
