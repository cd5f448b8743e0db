-- KPI reads at scale (1M dossiers): every read names a procedure (0 = all
-- procedures) and day/month/year spans, so kpi_agg gets an all-procedures row
-- per period, agency and channel and an index for each read shape; counter
-- waits become per-period histograms; feedback counts read a covering index.

-- All-procedures rows, summed from the per-procedure rows already kept.
INSERT INTO kpi_agg (
    grain, period, agency_id, procedure_id, channel,
    received,
    received_online,
    digitized,
    reused,
    fee_bearing,
    returned,
    rejected,
    refused,
    withdrawn,
    cancelled,
    decided,
    early,
    on_time,
    late,
    ended,
    used_days,
    regulated_days,
    results,
    results_digital,
    digitized_through,
    paid,
    paid_online,
    ratings,
    ratings_satisfied,
    ratings_unsatisfied,
    due,
    due_finished
)
SELECT
    grain, period, agency_id, 0, channel,
    SUM(received),
    SUM(received_online),
    SUM(digitized),
    SUM(reused),
    SUM(fee_bearing),
    SUM(returned),
    SUM(rejected),
    SUM(refused),
    SUM(withdrawn),
    SUM(cancelled),
    SUM(decided),
    SUM(early),
    SUM(on_time),
    SUM(late),
    SUM(ended),
    SUM(used_days),
    SUM(regulated_days),
    SUM(results),
    SUM(results_digital),
    SUM(digitized_through),
    SUM(paid),
    SUM(paid_online),
    SUM(ratings),
    SUM(ratings_satisfied),
    SUM(ratings_unsatisfied),
    SUM(due),
    SUM(due_finished)
FROM kpi_agg
WHERE procedure_id <> 0
GROUP BY grain, period, agency_id, channel;

DROP INDEX kpi_agg_agency_idx;
CREATE INDEX kpi_agg_procedure_idx ON kpi_agg (procedure_id, grain, period);
CREATE INDEX kpi_agg_agency_idx ON kpi_agg (agency_id, procedure_id, grain, period);

-- Minutes from ticket to call, per agency and day, month and year (like
-- kpi_agg): the number of tickets called and their histogram, JSON
-- {"minutes": tickets}, so averages and percentiles never read every ticket.
CREATE TABLE queue_waits_by_period (
    grain TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
    period DATE NOT NULL,
    agency_id BIGINT NOT NULL,
    tickets BIGINT NOT NULL,
    histogram TEXT NOT NULL,
    PRIMARY KEY (grain, period, agency_id)
);
INSERT INTO queue_waits_by_period (grain, period, agency_id, tickets, histogram)
SELECT grain, period, agency_id, SUM(tickets), json_group_object(CAST(minutes AS TEXT), tickets)
FROM (
    SELECT 'd' AS grain, day AS period, agency_id, minutes, SUM(tickets) AS tickets
    FROM queue_waits GROUP BY day, agency_id, minutes
    UNION ALL
    SELECT 'm', date(day, 'start of month'), agency_id, minutes, SUM(tickets)
    FROM queue_waits GROUP BY date(day, 'start of month'), agency_id, minutes
    UNION ALL
    SELECT 'y', date(day, 'start of year'), agency_id, minutes, SUM(tickets)
    FROM queue_waits GROUP BY date(day, 'start of year'), agency_id, minutes
) AS per_minute
GROUP BY grain, period, agency_id;
DROP TABLE queue_waits;
ALTER TABLE queue_waits_by_period RENAME TO queue_waits;

-- The KPI counts read only this index: feedback received in a period, by agency.
CREATE INDEX feedback_kpi_idx ON feedback (created_at, agency_id, procedure_code, handled_at, due_at);

-- Tracking needs something only the applicant holds. A person's citizen ID
-- number is that; an organisation's tax code is public, so its dossiers get a
-- PIN printed on the receipt.
CREATE TABLE dossier_tracking_pins (
    dossier_id BIGINT PRIMARY KEY REFERENCES dossiers (id),
    pin TEXT NOT NULL
);
