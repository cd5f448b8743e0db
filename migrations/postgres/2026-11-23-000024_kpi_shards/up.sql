-- Every action of one agency adds to the same few aggregate rows (its day,
-- month and year, for its procedure and for all procedures). On PostgreSQL a
-- writer holds those rows' locks until its commit is flushed, so the actions
-- of one agency committed one at a time, whatever the number of connections.
-- Each row is now kept in shards: a writer adds to its dossier's shard
-- (repo::kpi::shard_of), reads sum the shards, a rebuild writes shard 0.
-- SQLite has one writer at a time and keeps everything in shard 0.
ALTER TABLE kpi_agg ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kpi_agg DROP CONSTRAINT kpi_agg_pkey;
ALTER TABLE kpi_agg ADD PRIMARY KEY (grain, period, agency_id, procedure_id, channel, shard);
