-- 0002: the usage ledger with its daily rollup, model price overrides, budgets and
-- reservations. Money is INTEGER micro-dollars; prices are micro-dollars per
-- million tokens; times are INTEGER unix milliseconds UTC; days are days since 1970-01-01 UTC.

-- One row per LLM call, never changed or deleted. Token counts follow OpenAI's inclusive
-- convention (cached ⊂ prompt, reasoning ⊂ completion); billing prices each token once.
-- No foreign keys: deleting old conversations (retention) must leave the ledger untouched.
CREATE TABLE usage_ledger (
    id                INTEGER PRIMARY KEY,
    idempotency_key   TEXT    NOT NULL UNIQUE,
    created_at        INTEGER NOT NULL,
    guild_id          INTEGER,
    channel_id        INTEGER,
    user_id           INTEGER,
    conversation_id   INTEGER,
    answer_id         INTEGER,
    purpose           TEXT    NOT NULL DEFAULT 'answer' CHECK (purpose IN ('answer', 'title', 'other')),
    model             TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    cached_tokens     INTEGER NOT NULL DEFAULT 0
                      CHECK (cached_tokens >= 0 AND cached_tokens <= prompt_tokens),
    completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
    reasoning_tokens  INTEGER NOT NULL DEFAULT 0
                      CHECK (reasoning_tokens >= 0 AND reasoning_tokens <= completion_tokens),
    -- The price snapshot used (per million tokens); NULL when the model has no known price.
    input_price       INTEGER,
    cached_price      INTEGER,
    output_price      INTEGER,
    price_source      TEXT    CHECK (price_source IN ('override', 'catalog')),
    cost_micros       INTEGER CHECK (cost_micros >= 0),
    status            TEXT    NOT NULL CHECK (status IN ('completed', 'stopped', 'error')),
    usage_source      TEXT    NOT NULL CHECK (usage_source IN ('provider', 'estimated')),
    CHECK ((cost_micros IS NULL) = (price_source IS NULL))
);

CREATE INDEX usage_ledger_guild_time ON usage_ledger (guild_id, created_at);

CREATE TRIGGER usage_ledger_no_update BEFORE UPDATE ON usage_ledger
BEGIN
    SELECT RAISE(ABORT, 'the usage ledger is append-only');
END;

CREATE TRIGGER usage_ledger_no_delete BEFORE DELETE ON usage_ledger
BEGIN
    SELECT RAISE(ABORT, 'the usage ledger is append-only');
END;

-- Sums per day, guild, user, channel and model, kept by a trigger in the same transaction
-- as each ledger insert, so reports and budget checks read a few rows instead of scanning
-- the ledger, and always agree with it. guild_id 0 stands for DMs, user/channel 0 for none.
CREATE TABLE usage_daily (
    guild_id          INTEGER NOT NULL,
    day               INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    model             TEXT    NOT NULL,
    calls             INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL,
    cost_micros       INTEGER NOT NULL,  -- of the priced calls
    unpriced_calls    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, user_id, channel_id, model)
) WITHOUT ROWID;

CREATE INDEX usage_daily_user ON usage_daily (guild_id, user_id, day);

CREATE TRIGGER usage_ledger_rollup AFTER INSERT ON usage_ledger
BEGIN
    INSERT INTO usage_daily (guild_id, day, user_id, channel_id, model, calls, prompt_tokens,
                             cached_tokens, completion_tokens, reasoning_tokens, cost_micros,
                             unpriced_calls)
    VALUES (COALESCE(NEW.guild_id, 0), NEW.created_at / 86400000, COALESCE(NEW.user_id, 0),
            COALESCE(NEW.channel_id, 0), NEW.model, 1, NEW.prompt_tokens, NEW.cached_tokens,
            NEW.completion_tokens, NEW.reasoning_tokens, COALESCE(NEW.cost_micros, 0),
            NEW.cost_micros IS NULL)
    ON CONFLICT (guild_id, day, user_id, channel_id, model) DO UPDATE SET
        calls             = calls + 1,
        prompt_tokens     = prompt_tokens + excluded.prompt_tokens,
        cached_tokens     = cached_tokens + excluded.cached_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        reasoning_tokens  = reasoning_tokens + excluded.reasoning_tokens,
        cost_micros       = cost_micros + excluded.cost_micros,
        unpriced_calls    = unpriced_calls + excluded.unpriced_calls;
END;

-- Prices set by the owner with /price set; they win over the maintained price table.
CREATE TABLE model_prices (
    model        TEXT    PRIMARY KEY,
    input_price  INTEGER NOT NULL CHECK (input_price >= 0),
    output_price INTEGER NOT NULL CHECK (output_price >= 0),
    cached_price INTEGER CHECK (cached_price >= 0),
    updated_by   INTEGER,
    updated_at   INTEGER NOT NULL
);

-- A server budget (user_id NULL) or a member's budget in a server, per UTC calendar period.
CREATE TABLE budgets (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER,
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0 AND amount_micros <= 1000000000000),
    updated_by    INTEGER,
    updated_at    INTEGER NOT NULL
);

CREATE UNIQUE INDEX budgets_scope ON budgets (guild_id, COALESCE(user_id, 0));

-- The worst-case cost held for a call in flight; settled into the ledger or released.
CREATE TABLE reservations (
    id            INTEGER PRIMARY KEY,
    call_key      TEXT    NOT NULL UNIQUE,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER,
    amount_micros INTEGER NOT NULL CHECK (amount_micros >= 0),
    created_at    INTEGER NOT NULL
);

CREATE INDEX reservations_scope ON reservations (guild_id, user_id);
