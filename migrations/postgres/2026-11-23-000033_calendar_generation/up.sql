-- One number that changes whenever the working calendar is written (its
-- days or its official years), so a process holding the calendar in memory
-- can tell, without reading the calendar, that another process changed it
-- (issue 12: an action reads the number inside its joined read of the dossier).
CREATE TABLE calendar_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO calendar_generation (id, generation) VALUES (1, 1);

CREATE FUNCTION bump_calendar_generation() RETURNS trigger AS $$
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER calendar_days_generation AFTER INSERT OR UPDATE OR DELETE ON calendar_days
    FOR EACH STATEMENT EXECUTE FUNCTION bump_calendar_generation();
CREATE TRIGGER calendar_seeded_years_generation AFTER INSERT OR UPDATE OR DELETE ON calendar_seeded_years
    FOR EACH STATEMENT EXECUTE FUNCTION bump_calendar_generation();
