DROP TRIGGER calendar_seeded_years_generation ON calendar_seeded_years;
DROP TRIGGER calendar_days_generation ON calendar_days;
DROP FUNCTION bump_calendar_generation();
DROP TABLE calendar_generation;
