-- Fold the shards back into one row per key.
CREATE TEMPORARY TABLE kpi_agg_folded (LIKE kpi_agg INCLUDING DEFAULTS);
INSERT INTO kpi_agg_folded (grain, period, agency_id, procedure_id, channel, received, received_online, digitized, reused, fee_bearing, returned, rejected, refused, withdrawn, cancelled, decided, early, on_time, late, ended, used_days, regulated_days, results, results_digital, digitized_through, paid, paid_online, ratings, ratings_satisfied, ratings_unsatisfied, due, due_finished)
SELECT grain, period, agency_id, procedure_id, channel,
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
GROUP BY grain, period, agency_id, procedure_id, channel;
DELETE FROM kpi_agg;
INSERT INTO kpi_agg SELECT * FROM kpi_agg_folded;
DROP TABLE kpi_agg_folded;
ALTER TABLE kpi_agg DROP CONSTRAINT kpi_agg_pkey;
ALTER TABLE kpi_agg DROP COLUMN shard;
ALTER TABLE kpi_agg ADD PRIMARY KEY (grain, period, agency_id, procedure_id, channel);
