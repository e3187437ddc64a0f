-- 0005: what members attached to their messages, as read (not as links: Discord's attachment
-- links expire). Text and PDF attachments keep their extracted text (it is also part of the
-- message's content, so the model and full-text search see it); images keep their downscaled
-- bytes for models that see images; skipped ones keep the reason the member was told.
-- Plain table and types, so the same schema ports to PostgreSQL (data: BYTEA there).

CREATE TABLE message_attachments (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL CHECK (position >= 0),
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'pdf', 'image', 'skipped')),
    filename   TEXT    NOT NULL,
    mime       TEXT,
    text       TEXT,
    data       BYTEA,
    width      BIGINT,
    height     BIGINT,
    tokens     BIGINT NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    CHECK (kind <> 'image' OR data IS NOT NULL),
    PRIMARY KEY (message_id, position)
);
