-- One number that changes whenever any procedure is written, so a process
-- holding the catalog's search index in memory can tell, with one cheap read,
-- that another process changed the catalog (issue 12, search).
CREATE TABLE catalog_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 1);

CREATE FUNCTION bump_catalog_generation() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER procedures_generation AFTER INSERT OR UPDATE OR DELETE ON procedures
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_generation();
