-- One number that changes whenever any procedure is written, so a process
-- holding the catalog's search index in memory can tell, with one cheap read,
-- that another process changed the catalog (issue 12, search).
CREATE TABLE catalog_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER procedures_generation_insert AFTER INSERT ON procedures
BEGIN
    UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER procedures_generation_update AFTER UPDATE ON procedures
BEGIN
    UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER procedures_generation_delete AFTER DELETE ON procedures
BEGIN
    UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1;
END;
