-- 0008: settling a call on PostgreSQL in one round trip, and the roll-ups in a fixed order.
--
-- Every settled call adds to the same roll-up rows: the server's budget_spend row of the day
-- (every call in the server), the member's, and a usage_daily row. A row being updated is
-- locked until its transaction ends, so every other settlement in the server waits for the
-- one holding the server's row. Done from the client (delete the hold, insert the ledger row,
-- read the budgets, commit: four round trips), that lock was held across the round trips, and
-- with a busy client process each round trip is milliseconds: settlements queued behind it
-- and the whole server managed about a hundred calls a second. switchboard_settle does the
-- same work inside the server as one statement run as its own transaction, so the lock is
-- held for the rest of that statement only (well under a millisecond).
--
-- The two roll-up triggers become one, which updates the rows from the least to the most
-- shared (usage_daily, then the member's budget_spend row, then the server's): the server's
-- row, which every settlement in the server waits for, is locked last and so held shortest.
-- Every settlement takes its locks in this same order, so two of them can't deadlock.
-- (Triggers on one event fire in name order; one trigger makes the order explicit.)

DROP TRIGGER usage_ledger_rollup ON usage_ledger;
DROP TRIGGER usage_ledger_budget_spend ON usage_ledger;
DROP FUNCTION usage_ledger_budget_spend();

CREATE OR REPLACE FUNCTION usage_ledger_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS d (guild_id, day, user_id, channel_id, model, calls,
                                  prompt_tokens, cached_tokens, completion_tokens,
                                  reasoning_tokens, cost_micros, unpriced_calls)
    VALUES (COALESCE(NEW.guild_id, 0), NEW.created_at / 86400000, COALESCE(NEW.user_id, 0),
            COALESCE(NEW.channel_id, 0), NEW.model, 1, NEW.prompt_tokens, NEW.cached_tokens,
            NEW.completion_tokens, NEW.reasoning_tokens, COALESCE(NEW.cost_micros, 0),
            CASE WHEN NEW.cost_micros IS NULL THEN 1 ELSE 0 END)
    ON CONFLICT (guild_id, day, user_id, channel_id, model) DO UPDATE SET
        calls             = d.calls + 1,
        prompt_tokens     = d.prompt_tokens + excluded.prompt_tokens,
        cached_tokens     = d.cached_tokens + excluded.cached_tokens,
        completion_tokens = d.completion_tokens + excluded.completion_tokens,
        reasoning_tokens  = d.reasoning_tokens + excluded.reasoning_tokens,
        cost_micros       = d.cost_micros + excluded.cost_micros,
        unpriced_calls    = d.unpriced_calls + excluded.unpriced_calls;
    -- Priced calls in a server count against its budgets (user_id 0: the whole server).
    IF NEW.guild_id IS NOT NULL AND NEW.cost_micros IS NOT NULL THEN
        IF NEW.user_id IS NOT NULL THEN
            INSERT INTO budget_spend AS b (guild_id, user_id, day, cost_micros)
            VALUES (NEW.guild_id, NEW.user_id, NEW.created_at / 86400000, NEW.cost_micros)
            ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
                cost_micros = b.cost_micros + excluded.cost_micros;
        END IF;
        INSERT INTO budget_spend AS b (guild_id, user_id, day, cost_micros)
        VALUES (NEW.guild_id, 0, NEW.created_at / 86400000, NEW.cost_micros)
        ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
            cost_micros = b.cost_micros + excluded.cost_micros;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER usage_ledger_rollup AFTER INSERT ON usage_ledger
    FOR EACH ROW EXECUTE FUNCTION usage_ledger_rollup();

-- Drop the hold of the call (p_release), append its ledger row unless its key is already
-- there, and, when the row was appended and p_statuses is set, return the budgets of its
-- server and member as they stand now (the row's cost included): the same as
-- ReservationRepository.settle does in one transaction on SQLite. Its first row says whether
-- the ledger row was appended (o_inserted); a budget's columns are NULL on a row without one.
-- Each statement of a PL/pgSQL function takes a fresh snapshot, so the budgets read after the
-- insert see its roll-ups and every settlement committed before; the server's roll-up row is
-- locked by then, so settlements in one server see each other's spending in turn.
CREATE FUNCTION switchboard_settle(
    p_release BOOLEAN, p_statuses BOOLEAN,
    p_idempotency_key TEXT, p_created_at BIGINT, p_guild_id BIGINT, p_channel_id BIGINT,
    p_user_id BIGINT, p_conversation_id BIGINT, p_answer_id BIGINT, p_purpose TEXT,
    p_model TEXT, p_prompt_tokens BIGINT, p_cached_tokens BIGINT, p_completion_tokens BIGINT,
    p_reasoning_tokens BIGINT, p_input_price BIGINT, p_cached_price BIGINT,
    p_output_price BIGINT, p_price_source TEXT, p_cost_micros BIGINT, p_status TEXT,
    p_usage_source TEXT, p_provider TEXT, p_cache_write_tokens BIGINT,
    p_cache_write_price BIGINT,
    p_day0 BIGINT, p_day1 BIGINT, p_week0 BIGINT, p_week1 BIGINT,
    p_month0 BIGINT, p_month1 BIGINT
) RETURNS TABLE (
    o_inserted BOOLEAN,
    o_id BIGINT, o_guild_id BIGINT, o_user_id BIGINT, o_period TEXT, o_amount_micros BIGINT,
    o_updated_by BIGINT, o_updated_at BIGINT, o_spent BIGINT, o_held BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    appended INTEGER;
    applying INTEGER := 0;
    status RECORD;
BEGIN
    IF p_release THEN
        DELETE FROM reservations WHERE call_key = p_idempotency_key;
    END IF;
    INSERT INTO usage_ledger (
        idempotency_key, created_at, guild_id, channel_id, user_id, conversation_id,
        answer_id, purpose, model, prompt_tokens, cached_tokens, completion_tokens,
        reasoning_tokens, input_price, cached_price, output_price, price_source, cost_micros,
        status, usage_source, provider, cache_write_tokens, cache_write_price)
    VALUES (
        p_idempotency_key, p_created_at, p_guild_id, p_channel_id, p_user_id,
        p_conversation_id, p_answer_id, p_purpose, p_model, p_prompt_tokens, p_cached_tokens,
        p_completion_tokens, p_reasoning_tokens, p_input_price, p_cached_price,
        p_output_price, p_price_source, p_cost_micros, p_status, p_usage_source, p_provider,
        p_cache_write_tokens, p_cache_write_price)
    ON CONFLICT (idempotency_key) DO NOTHING;
    GET DIAGNOSTICS appended = ROW_COUNT;
    o_inserted := appended > 0;
    IF o_inserted AND p_statuses AND p_guild_id IS NOT NULL THEN
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
            WHERE b.guild_id = p_guild_id
              AND COALESCE(b.user_id, 0) IN (0, COALESCE(p_user_id, 0))
            ORDER BY COALESCE(b.user_id, 0)
        LOOP
            o_id := status.id; o_guild_id := status.guild_id; o_user_id := status.user_id;
            o_period := status.period; o_amount_micros := status.amount_micros;
            o_updated_by := status.updated_by; o_updated_at := status.updated_at;
            o_spent := status.spent; o_held := status.held;
            applying := applying + 1;
            RETURN NEXT;
        END LOOP;
    END IF;
    IF applying = 0 THEN
        RETURN NEXT;  -- o_inserted alone, the budget's columns NULL
    END IF;
END;
$$;
