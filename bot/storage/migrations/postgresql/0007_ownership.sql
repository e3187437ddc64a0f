-- 0007: ownership. Several processes can share one database; each run of a process is an
-- owner (a random id made at start) with a heartbeat row it updates every few seconds. An
-- answer being streamed and a budget hold record the owner that writes them, so a process
-- starting (or sweeping) recovers only the answers and holds of owners whose heartbeat is
-- stale or gone, never a live sibling's. Rows from before this migration have no owner.
-- Times are BIGINT unix milliseconds UTC (the database server's clock for heartbeats, so
-- processes on hosts whose clocks differ still agree on who is stale).

CREATE TABLE process_heartbeats (
    owner      TEXT   PRIMARY KEY,
    host       TEXT   NOT NULL,
    pid        BIGINT NOT NULL,
    shard_ids  TEXT,              -- '0,1'; NULL: every shard this process runs
    started_at BIGINT NOT NULL,
    beat_at    BIGINT NOT NULL
);

ALTER TABLE messages ADD COLUMN owner TEXT;      -- answers only: the run streaming it
ALTER TABLE reservations ADD COLUMN owner TEXT;  -- the run whose call holds it

-- Jobs that run once across processes (retention): a run claims its turn by moving
-- last_run_at forward, conditionally, in the transaction that does the work.
CREATE TABLE periodic_jobs (
    name        TEXT   PRIMARY KEY,
    last_run_at BIGINT NOT NULL,
    run_by      TEXT
);

-- switchboard_reserve (0006) writes the hold, so it takes the owner too: a new argument
-- is a new function in PostgreSQL, so the old one is dropped. Otherwise as in 0006.
DROP FUNCTION switchboard_reserve(
    TEXT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT
);

CREATE FUNCTION switchboard_reserve(
    p_call_key TEXT, p_guild BIGINT, p_user BIGINT, p_amount BIGINT, p_created_at BIGINT,
    p_day0 BIGINT, p_day1 BIGINT, p_week0 BIGINT, p_week1 BIGINT,
    p_month0 BIGINT, p_month1 BIGINT, p_owner TEXT
) RETURNS TABLE (
    o_id BIGINT, o_guild_id BIGINT, o_user_id BIGINT, o_period TEXT, o_amount_micros BIGINT,
    o_updated_by BIGINT, o_updated_at BIGINT, o_spent BIGINT, o_held BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    applying INTEGER := 0;
    fits BOOLEAN := TRUE;
    status RECORD;
BEGIN
    IF p_amount IS NOT NULL THEN
        PERFORM 1 FROM budgets b
        WHERE b.guild_id = p_guild AND COALESCE(b.user_id, 0) IN (0, COALESCE(p_user, 0))
        ORDER BY b.id FOR UPDATE;
    END IF;
    FOR status IN
        SELECT b.id, b.guild_id, b.user_id, b.period, b.amount_micros, b.updated_by,
               b.updated_at,
               (SELECT COALESCE(SUM(s.cost_micros), 0) FROM budget_spend s
                WHERE s.guild_id = b.guild_id AND s.user_id = COALESCE(b.user_id, 0)
                  AND s.day >= CASE b.period WHEN 'day' THEN p_day0
                                             WHEN 'week' THEN p_week0 ELSE p_month0 END
                  AND s.day < CASE b.period WHEN 'day' THEN p_day1
                                            WHEN 'week' THEN p_week1 ELSE p_month1 END
               )::BIGINT AS spent,
               (SELECT COALESCE(SUM(r.amount_micros), 0) FROM reservations r
                WHERE r.guild_id = b.guild_id
                  AND (b.user_id IS NULL OR r.user_id = b.user_id))::BIGINT AS held
        FROM budgets b
        WHERE b.guild_id = p_guild AND COALESCE(b.user_id, 0) IN (0, COALESCE(p_user, 0))
        ORDER BY COALESCE(b.user_id, 0)
    LOOP
        o_id := status.id; o_guild_id := status.guild_id; o_user_id := status.user_id;
        o_period := status.period; o_amount_micros := status.amount_micros;
        o_updated_by := status.updated_by; o_updated_at := status.updated_at;
        o_spent := status.spent; o_held := status.held;
        applying := applying + 1;
        IF p_amount IS NOT NULL AND status.spent + status.held + p_amount > status.amount_micros
        THEN
            fits := FALSE;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF applying > 0 AND p_amount IS NOT NULL AND fits THEN
        INSERT INTO reservations AS r
            (call_key, guild_id, user_id, amount_micros, created_at, owner)
        VALUES (p_call_key, p_guild, p_user, p_amount, p_created_at, p_owner)
        ON CONFLICT (call_key) DO UPDATE SET
            guild_id = excluded.guild_id, user_id = excluded.user_id,
            amount_micros = excluded.amount_micros, created_at = excluded.created_at,
            owner = excluded.owner;
    END IF;
END;
$$;
