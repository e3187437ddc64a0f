-- 0001: conversations, messages with their steps and Discord messages, channel settings,
-- and a full-text index over message content.
-- The runner wraps this file in one transaction and sets PRAGMA user_version = 1 inside it.
-- Times are INTEGER unix milliseconds UTC; Discord ids are INTEGER snowflakes.

-- A conversation lives in one channel: a thread, an inline channel or a DM channel.
CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    kind              TEXT    NOT NULL CHECK (kind IN ('thread', 'inline', 'dm')),
    guild_id          INTEGER,
    channel_id        INTEGER NOT NULL,
    parent_channel_id INTEGER,
    title             TEXT,
    model             TEXT,
    created_by        INTEGER,
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    -- DMs are the only conversations outside a guild.
    CHECK ((kind = 'dm') = (guild_id IS NULL))
);

-- At most one open conversation per channel: this is what maps a channel to its conversation
-- and makes two racing "start a conversation here" attempts fail instead of forking.
CREATE UNIQUE INDEX conversations_open_per_channel
    ON conversations (channel_id) WHERE closed_at IS NULL;

-- A member's message or an answer of the bot.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role                TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content             TEXT    NOT NULL DEFAULT '',
    author_id           INTEGER,
    author_name         TEXT,
    discord_message_id  INTEGER,
    status              TEXT    NOT NULL
        CHECK (status IN ('streaming', 'complete', 'stopped', 'interrupted', 'error')),
    model               TEXT,
    error_text          TEXT,
    reply_to_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    -- Members' messages are complete the moment they are stored.
    CHECK (role = 'assistant' OR status = 'complete')
);

-- History is read per conversation in insertion (id) order; the id is in the index so the
-- read needs no sort. created_at follows id (rows are written in time order).
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- A Discord message is stored at most once: a replayed gateway event can't add it twice.
CREATE UNIQUE INDEX messages_by_discord_message
    ON messages (discord_message_id) WHERE discord_message_id IS NOT NULL;

-- Crash recovery looks for answers left streaming; the partial index stays tiny.
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';

-- The ordered parts of an answer: reasoning and text per round, tool calls and results.
CREATE TABLE steps (
    id             INTEGER PRIMARY KEY,
    message_id     INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    round          INTEGER NOT NULL,
    kind           TEXT    NOT NULL
        CHECK (kind IN ('reasoning', 'text', 'tool_call', 'tool_result')),
    content        TEXT    NOT NULL DEFAULT '',
    tool_call_id   TEXT,
    tool_name      TEXT,
    tool_arguments TEXT,
    tool_status    TEXT
        CHECK (tool_status IS NULL
               OR tool_status IN ('ok', 'error', 'timeout', 'refused', 'cancelled')),
    duration_ms    INTEGER,
    -- Strict providers pair every tool result with its call by id; keep that replayable.
    CHECK (kind NOT IN ('tool_call', 'tool_result') OR tool_call_id IS NOT NULL),
    CHECK (kind <> 'tool_call' OR tool_name IS NOT NULL),
    UNIQUE (message_id, seq)
);

-- The Discord messages that show an answer (long answers span several), for later edits.
CREATE TABLE answer_discord_messages (
    message_id         INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position           INTEGER NOT NULL CHECK (position >= 0),
    channel_id         INTEGER NOT NULL,
    discord_message_id INTEGER NOT NULL,
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;

-- Replies and button presses arrive with a Discord message id.
CREATE INDEX answer_discord_messages_by_discord_message
    ON answer_discord_messages (discord_message_id);

-- Per-channel overrides; NULL means inherit (thread -> parent channel -> defaults).
CREATE TABLE channel_settings (
    channel_id     INTEGER PRIMARY KEY,
    guild_id       INTEGER,
    model          TEXT,
    system_prompt  TEXT,
    reasoning_mode TEXT CHECK (reasoning_mode IN ('show', 'summary', 'hide')),
    mode           TEXT CHECK (mode IN ('threads', 'inline')),
    mentions       INTEGER CHECK (mentions IN (0, 1)),
    updated_at     INTEGER NOT NULL
);

CREATE TABLE channel_tools (
    channel_id INTEGER NOT NULL REFERENCES channel_settings (channel_id) ON DELETE CASCADE,
    tool       TEXT    NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    PRIMARY KEY (channel_id, tool)
) WITHOUT ROWID;

-- Full-text search over message content. External content: the text is stored once, in
-- messages; the index holds only tokens and is kept in step by the triggers below.
-- porter folds English word endings ("deploying" finds "deploy").
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
END;

-- Only content changes touch the index; status updates during streaming do not.
CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
