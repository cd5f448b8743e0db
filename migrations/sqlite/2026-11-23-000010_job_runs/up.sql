-- Runs of background jobs that must happen once across server processes
-- (the daily reconciliation): whoever inserts (job, run_key) first runs it.
-- A claim left unfinished past its lease (a process died) may be taken over;
-- a failed run is released, so the next round tries again.
CREATE TABLE job_runs (
    job TEXT NOT NULL,
    run_key TEXT NOT NULL,
    -- A random identity of the claiming process.
    claimed_by TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (job, run_key)
);
