-- 0007: ownership. Several processes can share one database; each run of a process is an
-- owner (a random id made at start) with a heartbeat row it updates every few seconds. An
-- answer being streamed and a budget hold record the owner that writes them, so a process
-- starting (or sweeping) recovers only the answers and holds of owners whose heartbeat is
-- stale or gone, never a live sibling's. Rows from before this migration have no owner.
-- Times are INTEGER unix milliseconds UTC (the database's own clock for heartbeats).

CREATE TABLE process_heartbeats (
    owner      TEXT    PRIMARY KEY,
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    shard_ids  TEXT,              -- "0,1"; NULL: every shard this process runs
    started_at INTEGER NOT NULL,
    beat_at    INTEGER NOT NULL
);

ALTER TABLE messages ADD COLUMN owner TEXT;      -- answers only: the run streaming it
ALTER TABLE reservations ADD COLUMN owner TEXT;  -- the run whose call holds it

-- Jobs that run once across processes (retention): a run claims its turn by moving
-- last_run_at forward, conditionally, in the transaction that does the work.
CREATE TABLE periodic_jobs (
    name        TEXT    PRIMARY KEY,
    last_run_at INTEGER NOT NULL,
    run_by      TEXT
);
