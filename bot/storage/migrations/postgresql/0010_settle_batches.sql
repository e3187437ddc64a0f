-- 0010: settling a batch of calls in one statement, and the roll-ups once per statement.
--
-- Every settled call adds to roll-up rows every other settlement in its server adds to as
-- well (the server's budget_spend row of the day, above all), and a row stays locked until
-- its transaction ends: settlements in one server take turns, as reservations do (0009). A
-- process therefore sends the settlements that arrive while its previous batch is in flight
-- as one batch (switchboard_settle_many): one turn, one statement and one commit for all.
--
-- The roll-up trigger becomes a statement trigger over the rows the statement inserted (its
-- transition table): a batch adds to each roll-up row once, with the sums of its rows. It
-- locks the rows it updates in one fixed order whatever the statement: every usage_daily row
-- in key order, then the members' budget_spend rows, then the servers' (the most shared,
-- locked last and so held shortest). Every insert into the ledger, a batch or one row, takes
-- its locks in that same order, so no two can deadlock.

DROP TRIGGER usage_ledger_rollup ON usage_ledger;
DROP FUNCTION usage_ledger_rollup();

CREATE FUNCTION usage_ledger_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS d (guild_id, day, user_id, channel_id, model, calls,
                                  prompt_tokens, cached_tokens, completion_tokens,
                                  reasoning_tokens, cost_micros, unpriced_calls)
    SELECT COALESCE(a.guild_id, 0), a.created_at / 86400000, COALESCE(a.user_id, 0),
           COALESCE(a.channel_id, 0), a.model, COUNT(*), SUM(a.prompt_tokens),
           SUM(a.cached_tokens), SUM(a.completion_tokens), SUM(a.reasoning_tokens),
           COALESCE(SUM(a.cost_micros), 0), COUNT(*) FILTER (WHERE a.cost_micros IS NULL)
    FROM added a
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (guild_id, day, user_id, channel_id, model) DO UPDATE SET
        calls             = d.calls + excluded.calls,
        prompt_tokens     = d.prompt_tokens + excluded.prompt_tokens,
        cached_tokens     = d.cached_tokens + excluded.cached_tokens,
        completion_tokens = d.completion_tokens + excluded.completion_tokens,
        reasoning_tokens  = d.reasoning_tokens + excluded.reasoning_tokens,
        cost_micros       = d.cost_micros + excluded.cost_micros,
        unpriced_calls    = d.unpriced_calls + excluded.unpriced_calls;
    -- Priced calls in a server count against its budgets (user_id 0: the whole server).
    INSERT INTO budget_spend AS b (guild_id, user_id, day, cost_micros)
    SELECT s.guild_id, s.spender, s.day, SUM(s.cost_micros)
    FROM (
        SELECT a.guild_id, a.user_id AS spender, a.created_at / 86400000 AS day, a.cost_micros
        FROM added a
        WHERE a.guild_id IS NOT NULL AND a.cost_micros IS NOT NULL AND a.user_id IS NOT NULL
        UNION ALL
        SELECT a.guild_id, 0, a.created_at / 86400000, a.cost_micros
        FROM added a
        WHERE a.guild_id IS NOT NULL AND a.cost_micros IS NOT NULL
    ) s
    GROUP BY s.guild_id, s.spender, s.day
    ORDER BY s.spender = 0, s.guild_id, s.spender, s.day
    ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
        cost_micros = b.cost_micros + excluded.cost_micros;
    RETURN NULL;
END;
$$;

CREATE TRIGGER usage_ledger_rollup AFTER INSERT ON usage_ledger
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_ledger_rollup();

-- Settle a batch: p_batch is a JSON array of calls, each with its ledger row's columns and
-- "release" (drop the call's hold), "statuses" (return its budgets) and the bounds of its
-- periods ("day0" … "month1", as switchboard_settle takes them). One statement drops the
-- holds and one appends the rows (those whose key is not in the ledger yet); then, for each
-- call in order (o_item, from 1) whose row was appended and that asked for them, the
-- budgets of its server and member as they stand after the whole batch. A call without
-- returns one row with o_inserted alone, the budget's columns NULL.
CREATE FUNCTION switchboard_settle_many(p_batch JSONB) RETURNS TABLE (
    o_item INTEGER, o_inserted BOOLEAN,
    o_id BIGINT, o_guild_id BIGINT, o_user_id BIGINT, o_period TEXT, o_amount_micros BIGINT,
    o_updated_by BIGINT, o_updated_at BIGINT, o_spent BIGINT, o_held BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    appended TEXT[];
    settled RECORD;
    budget_row RECORD;
    applying INTEGER;
BEGIN
    DELETE FROM reservations
    WHERE call_key IN (
        SELECT e.idempotency_key
        FROM jsonb_to_recordset(p_batch) AS e(idempotency_key TEXT, release BOOLEAN)
        WHERE e.release);
    WITH added AS (
        INSERT INTO usage_ledger (
            idempotency_key, created_at, guild_id, channel_id, user_id, conversation_id,
            answer_id, purpose, model, prompt_tokens, cached_tokens, completion_tokens,
            reasoning_tokens, input_price, cached_price, output_price, price_source,
            cost_micros, status, usage_source, provider, cache_write_tokens,
            cache_write_price)
        SELECT
            idempotency_key, created_at, guild_id, channel_id, user_id, conversation_id,
            answer_id, purpose, model, prompt_tokens, cached_tokens, completion_tokens,
            reasoning_tokens, input_price, cached_price, output_price, price_source,
            cost_micros, status, usage_source, provider, cache_write_tokens,
            cache_write_price
        FROM jsonb_to_recordset(p_batch) AS e(
            idempotency_key TEXT, created_at BIGINT, guild_id BIGINT, channel_id BIGINT,
            user_id BIGINT, conversation_id BIGINT, answer_id BIGINT, purpose TEXT,
            model TEXT, prompt_tokens BIGINT, cached_tokens BIGINT,
            completion_tokens BIGINT, reasoning_tokens BIGINT, input_price BIGINT,
            cached_price BIGINT, output_price BIGINT, price_source TEXT, cost_micros BIGINT,
            status TEXT, usage_source TEXT, provider TEXT, cache_write_tokens BIGINT,
            cache_write_price BIGINT)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key)
    SELECT COALESCE(array_agg(added.idempotency_key), '{}') INTO appended FROM added;
    FOR settled IN
        SELECT c.item::INTEGER AS item, c.e ->> 'idempotency_key' AS call_key,
               (c.e ->> 'guild_id')::BIGINT AS guild_id,
               (c.e ->> 'user_id')::BIGINT AS user_id,
               (c.e ->> 'statuses')::BOOLEAN AS statuses,
               (c.e ->> 'day0')::BIGINT AS day0, (c.e ->> 'day1')::BIGINT AS day1,
               (c.e ->> 'week0')::BIGINT AS week0, (c.e ->> 'week1')::BIGINT AS week1,
               (c.e ->> 'month0')::BIGINT AS month0, (c.e ->> 'month1')::BIGINT AS month1
        FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS c(e, item)
        ORDER BY c.item
    LOOP
        o_item := settled.item;
        o_inserted := settled.call_key = ANY(appended);
        o_id := NULL; o_guild_id := NULL; o_user_id := NULL; o_period := NULL;
        o_amount_micros := NULL; o_updated_by := NULL; o_updated_at := NULL;
        o_spent := NULL; o_held := NULL;
        applying := 0;
        IF o_inserted AND settled.statuses AND settled.guild_id IS NOT NULL THEN
            FOR budget_row IN
                SELECT b.id, b.guild_id, b.user_id, b.period, b.amount_micros, b.updated_by,
                       b.updated_at,
                       (SELECT COALESCE(SUM(s.cost_micros), 0) FROM budget_spend s
                        WHERE s.guild_id = b.guild_id AND s.user_id = COALESCE(b.user_id, 0)
                          AND s.day >= CASE b.period WHEN 'day' THEN settled.day0
                                                     WHEN 'week' THEN settled.week0
                                                     ELSE settled.month0 END
                          AND s.day < CASE b.period WHEN 'day' THEN settled.day1
                                                    WHEN 'week' THEN settled.week1
                                                    ELSE settled.month1 END
                       )::BIGINT AS spent,
                       (SELECT COALESCE(SUM(r.amount_micros), 0) FROM reservations r
                        WHERE r.guild_id = b.guild_id
                          AND (b.user_id IS NULL OR r.user_id = b.user_id))::BIGINT AS held
                FROM budgets b
                WHERE b.guild_id = settled.guild_id
                  AND COALESCE(b.user_id, 0) IN (0, COALESCE(settled.user_id, 0))
                ORDER BY COALESCE(b.user_id, 0)
            LOOP
                o_id := budget_row.id; o_guild_id := budget_row.guild_id;
                o_user_id := budget_row.user_id; o_period := budget_row.period;
                o_amount_micros := budget_row.amount_micros;
                o_updated_by := budget_row.updated_by;
                o_updated_at := budget_row.updated_at; o_spent := budget_row.spent;
                o_held := budget_row.held;
                applying := applying + 1;
                RETURN NEXT;
            END LOOP;
        END IF;
        IF applying = 0 THEN
            RETURN NEXT;
        END IF;
    END LOOP;
END;
$$;
