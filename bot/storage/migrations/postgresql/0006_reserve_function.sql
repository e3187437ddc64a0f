-- 0006: budget reservations in one round trip on PostgreSQL.
-- Reservations from many processes take turns per budget: each locks the budget rows it
-- checks. Done from the client, the lock is held across several round trips (lock, read,
-- insert, commit), and every reservation against a busy budget waits for all of them. This
-- function does the same work inside the server in one statement, run as its own
-- transaction, so the lock is held for well under a millisecond.
-- Each statement of a PL/pgSQL function takes a fresh snapshot (READ COMMITTED), so the
-- reads after the lock see every hold committed before it.
-- The rows returned are the budgets that apply with their spending and open holds before
-- this call's hold; the hold is written when there are some, p_amount is not NULL and every
-- one can take it: the same rule as ReservationRepository.reserve on SQLite.
CREATE FUNCTION switchboard_reserve(
    p_call_key TEXT, p_guild BIGINT, p_user BIGINT, p_amount BIGINT, p_created_at BIGINT,
    p_day0 BIGINT, p_day1 BIGINT, p_week0 BIGINT, p_week1 BIGINT,
    p_month0 BIGINT, p_month1 BIGINT
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
        INSERT INTO reservations AS r (call_key, guild_id, user_id, amount_micros, created_at)
        VALUES (p_call_key, p_guild, p_user, p_amount, p_created_at)
        ON CONFLICT (call_key) DO UPDATE SET
            guild_id = excluded.guild_id, user_id = excluded.user_id,
            amount_micros = excluded.amount_micros, created_at = excluded.created_at;
    END IF;
END;
$$;
