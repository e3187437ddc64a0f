-- 0004: providers and what thinking models need back.
-- * round_artefacts: per answer round, the provider state a model requires back with that
--   round (DeepSeek's reasoning_content, OpenRouter's reasoning_details, Anthropic's signed
--   thinking blocks, the Responses API's encrypted reasoning items), as JSON, tagged with
--   the model reference that produced it so it is never sent to another model.
-- * steps.tool_extra: provider fields that came with a tool call (Gemini's thought
--   signature), as JSON, sent back with the call to the same model.
-- * the ledger records each call's provider and its cache-write tokens (Anthropic), part of
--   prompt_tokens like cached_tokens (cache reads), each billed once at its own price.
-- Plain tables and columns only, so the same schema ports to PostgreSQL.

CREATE TABLE round_artefacts (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    round      BIGINT NOT NULL,
    source     TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (message_id, round)
);

ALTER TABLE steps ADD COLUMN tool_extra TEXT;

ALTER TABLE usage_ledger ADD COLUMN provider TEXT NOT NULL DEFAULT 'default';
ALTER TABLE usage_ledger ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0
    CHECK (cache_write_tokens >= 0);
ALTER TABLE usage_ledger ADD COLUMN cache_write_price BIGINT;
