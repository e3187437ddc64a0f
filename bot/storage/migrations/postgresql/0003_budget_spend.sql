-- 0003: priced spending per day for budget checks, per server and per member.
-- A budget check runs before every LLM call. Summed from usage_daily (one row per day, user,
-- channel and model), a server's monthly check read every member × channel × model row of
-- the month: thousands in a busy server, on every call. This rollup keeps one row per
-- (server, day) and one per (server, member, day), so a check reads at most 31 rows.
-- user_id 0 is the whole server; calls without a user count for the server only.
CREATE TABLE budget_spend (
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id, day)
);

INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
SELECT guild_id, 0, day, SUM(cost_micros) FROM usage_daily
WHERE guild_id != 0 GROUP BY guild_id, day;

INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
SELECT guild_id, user_id, day, SUM(cost_micros) FROM usage_daily
WHERE guild_id != 0 AND user_id != 0 GROUP BY guild_id, user_id, day;

CREATE FUNCTION usage_ledger_budget_spend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO budget_spend AS b (guild_id, user_id, day, cost_micros)
    VALUES (NEW.guild_id, 0, NEW.created_at / 86400000, NEW.cost_micros)
    ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
        cost_micros = b.cost_micros + excluded.cost_micros;
    IF NEW.user_id IS NOT NULL THEN
        INSERT INTO budget_spend AS b (guild_id, user_id, day, cost_micros)
        VALUES (NEW.guild_id, NEW.user_id, NEW.created_at / 86400000, NEW.cost_micros)
        ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
            cost_micros = b.cost_micros + excluded.cost_micros;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER usage_ledger_budget_spend AFTER INSERT ON usage_ledger
    FOR EACH ROW WHEN (NEW.guild_id IS NOT NULL AND NEW.cost_micros IS NOT NULL)
    EXECUTE FUNCTION usage_ledger_budget_spend();
