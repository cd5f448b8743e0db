-- Every action of one agency adds to the same few aggregate rows (its day,
-- month and year, for its procedure and for all procedures). On PostgreSQL a
-- writer holds those rows' locks until its commit is flushed, so the actions
-- of one agency committed one at a time, whatever the number of connections.
-- Each row is now kept in shards: a writer adds to its dossier's shard
-- (repo::kpi::shard_of), reads sum the shards, a rebuild writes shard 0.
-- SQLite has one writer at a time and keeps everything in shard 0.
-- SQLite cannot change a primary key: the table is rebuilt.
CREATE TABLE kpi_agg_sharded (
    grain TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
    period DATE NOT NULL,
    agency_id BIGINT NOT NULL,
    procedure_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    received_online BIGINT NOT NULL DEFAULT 0,
    digitized BIGINT NOT NULL DEFAULT 0,
    reused BIGINT NOT NULL DEFAULT 0,
    fee_bearing BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    cancelled BIGINT NOT NULL DEFAULT 0,
    decided BIGINT NOT NULL DEFAULT 0,
    early BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0,
    ended BIGINT NOT NULL DEFAULT 0,
    used_days BIGINT NOT NULL DEFAULT 0,
    regulated_days BIGINT NOT NULL DEFAULT 0,
    results BIGINT NOT NULL DEFAULT 0,
    results_digital BIGINT NOT NULL DEFAULT 0,
    digitized_through BIGINT NOT NULL DEFAULT 0,
    paid BIGINT NOT NULL DEFAULT 0,
    paid_online BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    ratings_satisfied BIGINT NOT NULL DEFAULT 0,
    ratings_unsatisfied BIGINT NOT NULL DEFAULT 0,
    due BIGINT NOT NULL DEFAULT 0,
    due_finished BIGINT NOT NULL DEFAULT 0,
    shard INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, period, agency_id, procedure_id, channel, shard)
);
INSERT INTO kpi_agg_sharded (grain, period, agency_id, procedure_id, channel, received, received_online, digitized, reused, fee_bearing, returned, rejected, refused, withdrawn, cancelled, decided, early, on_time, late, ended, used_days, regulated_days, results, results_digital, digitized_through, paid, paid_online, ratings, ratings_satisfied, ratings_unsatisfied, due, due_finished)
SELECT grain, period, agency_id, procedure_id, channel, received, received_online, digitized, reused, fee_bearing, returned, rejected, refused, withdrawn, cancelled, decided, early, on_time, late, ended, used_days, regulated_days, results, results_digital, digitized_through, paid, paid_online, ratings, ratings_satisfied, ratings_unsatisfied, due, due_finished FROM kpi_agg;
DROP TABLE kpi_agg;
ALTER TABLE kpi_agg_sharded RENAME TO kpi_agg;
CREATE INDEX kpi_agg_procedure_idx ON kpi_agg (procedure_id, grain, period);
CREATE INDEX kpi_agg_agency_idx ON kpi_agg (agency_id, procedure_id, grain, period);
