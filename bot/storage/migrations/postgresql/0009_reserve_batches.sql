-- 0009: reserving a batch of calls under one lock of the budget rows.
--
-- Every reservation in a server locks the server's budget row (switchboard_reserve, 0006 and
-- 0007) until its statement ends, so reservations in one server take turns. With many
-- processes and connections on few cores, a turn costs far more than its work: the next
-- waiter must be woken and scheduled, and the holder can be descheduled mid-turn while every
-- other reservation in the server waits behind it. A process therefore sends the
-- reservations that arrive while its previous batch is in flight as one batch: one lock,
-- one statement, one commit for all of them.
--
-- Within a batch the calls are decided one after another, in array order, exactly as
-- switchboard_reserve decides one: each statement of a PL/pgSQL function takes a fresh
-- snapshot and sees the holds written before it in the same transaction, so a batch never
-- admits more than the same calls made one at a time would. The budget rows of every server
-- and member in the batch are locked first, in id order as switchboard_reserve locks them,
-- so batches and single reservations can't deadlock.
--
-- switchboard_reserve stays: processes of the previous release still call it during a
-- rolling deploy.

CREATE FUNCTION switchboard_reserve_many(
    p_call_keys TEXT[], p_guilds BIGINT[], p_users BIGINT[], p_amounts BIGINT[],
    p_created_at BIGINT[], p_day0 BIGINT[], p_day1 BIGINT[], p_week0 BIGINT[],
    p_week1 BIGINT[], p_month0 BIGINT[], p_month1 BIGINT[], p_owner TEXT
) RETURNS TABLE (
    o_item INTEGER,
    o_id BIGINT, o_guild_id BIGINT, o_user_id BIGINT, o_period TEXT, o_amount_micros BIGINT,
    o_updated_by BIGINT, o_updated_at BIGINT, o_spent BIGINT, o_held BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    item INTEGER;
    applying INTEGER;
    fits BOOLEAN;
    status RECORD;
BEGIN
    PERFORM 1 FROM budgets b
    WHERE EXISTS (
        SELECT 1 FROM unnest(p_guilds, p_users, p_amounts) AS c(guild, member, amount)
        WHERE c.amount IS NOT NULL AND b.guild_id = c.guild
          AND COALESCE(b.user_id, 0) IN (0, COALESCE(c.member, 0)))
    ORDER BY b.id FOR UPDATE;
    FOR item IN 1 .. COALESCE(array_length(p_call_keys, 1), 0) LOOP
        applying := 0;
        fits := TRUE;
        FOR status IN
            SELECT b.id, b.guild_id, b.user_id, b.period, b.amount_micros, b.updated_by,
                   b.updated_at,
                   (SELECT COALESCE(SUM(s.cost_micros), 0) FROM budget_spend s
                    WHERE s.guild_id = b.guild_id AND s.user_id = COALESCE(b.user_id, 0)
                      AND s.day >= CASE b.period WHEN 'day' THEN p_day0[item]
                                                 WHEN 'week' THEN p_week0[item]
                                                 ELSE p_month0[item] END
                      AND s.day < CASE b.period WHEN 'day' THEN p_day1[item]
                                                WHEN 'week' THEN p_week1[item]
                                                ELSE p_month1[item] END
                   )::BIGINT AS spent,
                   (SELECT COALESCE(SUM(r.amount_micros), 0) FROM reservations r
                    WHERE r.guild_id = b.guild_id
                      AND (b.user_id IS NULL OR r.user_id = b.user_id))::BIGINT AS held
            FROM budgets b
            WHERE b.guild_id = p_guilds[item]
              AND COALESCE(b.user_id, 0) IN (0, COALESCE(p_users[item], 0))
            ORDER BY COALESCE(b.user_id, 0)
        LOOP
            o_item := item;
            o_id := status.id; o_guild_id := status.guild_id; o_user_id := status.user_id;
            o_period := status.period; o_amount_micros := status.amount_micros;
            o_updated_by := status.updated_by; o_updated_at := status.updated_at;
            o_spent := status.spent; o_held := status.held;
            applying := applying + 1;
            IF p_amounts[item] IS NOT NULL
               AND status.spent + status.held + p_amounts[item] > status.amount_micros THEN
                fits := FALSE;
            END IF;
            RETURN NEXT;
        END LOOP;
        IF applying > 0 AND p_amounts[item] IS NOT NULL AND fits THEN
            INSERT INTO reservations AS r
                (call_key, guild_id, user_id, amount_micros, created_at, owner)
            VALUES (p_call_keys[item], p_guilds[item], p_users[item], p_amounts[item],
                    p_created_at[item], p_owner)
            ON CONFLICT (call_key) DO UPDATE SET
                guild_id = excluded.guild_id, user_id = excluded.user_id,
                amount_micros = excluded.amount_micros, created_at = excluded.created_at,
                owner = excluded.owner;
        END IF;
    END LOOP;
END;
$$;
