DROP TABLE dossier_tracking_pins;

DROP INDEX feedback_kpi_idx;

-- Back to one row per day, agency and minute (sectors were never told apart).
ALTER TABLE queue_waits RENAME TO queue_waits_by_period;
CREATE TABLE queue_waits (
    day DATE NOT NULL,
    agency_id BIGINT NOT NULL,
    -- '' for tickets taken without a sector.
    sector_code TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    tickets BIGINT NOT NULL,
    PRIMARY KEY (day, agency_id, sector_code, minutes)
);
INSERT INTO queue_waits (day, agency_id, sector_code, minutes, tickets)
SELECT period, agency_id, '', h.key::integer, h.value::bigint FROM queue_waits_by_period, json_each_text(histogram::json) AS h WHERE grain = 'd';
DROP TABLE queue_waits_by_period;

DROP INDEX kpi_agg_agency_idx;
DROP INDEX kpi_agg_procedure_idx;
CREATE INDEX kpi_agg_agency_idx ON kpi_agg (agency_id, grain, period);
DELETE FROM kpi_agg WHERE procedure_id = 0;
