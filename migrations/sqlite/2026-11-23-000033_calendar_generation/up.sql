-- One number that changes whenever the working calendar is written (its
-- days or its official years), so a process holding the calendar in memory
-- can tell, without reading the calendar, that another process changed it
-- (issue 12: an action reads the number inside its joined read of the dossier).
CREATE TABLE calendar_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO calendar_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER calendar_days_generation_insert AFTER INSERT ON calendar_days
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER calendar_days_generation_update AFTER UPDATE ON calendar_days
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER calendar_days_generation_delete AFTER DELETE ON calendar_days
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER calendar_seeded_years_generation_insert AFTER INSERT ON calendar_seeded_years
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER calendar_seeded_years_generation_update AFTER UPDATE ON calendar_seeded_years
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER calendar_seeded_years_generation_delete AFTER DELETE ON calendar_seeded_years
BEGIN
    UPDATE calendar_generation SET generation = generation + 1 WHERE id = 1;
END;
