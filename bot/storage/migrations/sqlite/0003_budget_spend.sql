-- 0003: priced spending per day for budget checks, per server and per member.
-- A budget check runs before every LLM call. Summed from usage_daily (one row per day, user,
-- channel and model), a server's monthly check read every member × channel × model row of
-- the month: thousands in a busy server, on every call. This rollup keeps one row per
-- (server, day) and one per (server, member, day), so a check reads at most 31 rows.
-- user_id 0 is the whole server; calls without a user count for the server only.
CREATE TABLE budget_spend (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, day)
) WITHOUT ROWID;

INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
SELECT guild_id, 0, day, SUM(cost_micros) FROM usage_daily
WHERE guild_id != 0 GROUP BY guild_id, day;

INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
SELECT guild_id, user_id, day, SUM(cost_micros) FROM usage_daily
WHERE guild_id != 0 AND user_id != 0 GROUP BY guild_id, user_id, day;

CREATE TRIGGER usage_ledger_budget_spend AFTER INSERT ON usage_ledger
WHEN NEW.guild_id IS NOT NULL AND NEW.cost_micros IS NOT NULL
BEGIN
    INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
    VALUES (NEW.guild_id, 0, NEW.created_at / 86400000, NEW.cost_micros)
    ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO budget_spend (guild_id, user_id, day, cost_micros)
    SELECT NEW.guild_id, NEW.user_id, NEW.created_at / 86400000, NEW.cost_micros
    WHERE NEW.user_id IS NOT NULL
    ON CONFLICT (guild_id, user_id, day) DO UPDATE SET
        cost_micros = cost_micros + excluded.cost_micros;
END;
