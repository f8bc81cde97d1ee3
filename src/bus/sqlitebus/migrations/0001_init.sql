-- The active queue. seq is the sequence number: AUTOINCREMENT so that a number
-- is never used twice, even after the newest message was dead-lettered.
CREATE TABLE messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    properties     BLOB,              -- JSON object, NULL when there are none
    body           BLOB,
    time_to_live   INTEGER NOT NULL,  -- nanoseconds, as resolved at send
    enqueued_at    INTEGER NOT NULL,  -- Unix nanoseconds
    expires_at     INTEGER NOT NULL,  -- Unix nanoseconds, 0 = never
    delivery_count INTEGER NOT NULL DEFAULT 0,
    -- lock_token is the token of the session lock the message was delivered
    -- under; NULL while it waits for delivery. A token that is no longer the
    -- session's live lock means "delivered to a holder that lost its lock".
    lock_token     TEXT
);
CREATE INDEX messages_by_session ON messages (session_id, seq);
CREATE INDEX messages_by_expiry ON messages (expires_at);

-- One row per session that has messages (or is locked). A session is free
-- when locked_until has passed; oldest_seq orders free sessions so that the
-- one waiting longest is accepted first.
CREATE TABLE sessions (
    session_id   TEXT    PRIMARY KEY,
    oldest_seq   INTEGER NOT NULL,
    token        TEXT,
    locked_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_by_age ON sessions (oldest_seq);

-- Dead-lettered messages keep their sequence number.
CREATE TABLE dead_letters (
    seq              INTEGER PRIMARY KEY,
    message_id       TEXT    NOT NULL,
    session_id       TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    content_type     TEXT    NOT NULL,
    properties       BLOB,
    body             BLOB,
    time_to_live     INTEGER NOT NULL,
    enqueued_at      INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    delivery_count   INTEGER NOT NULL,
    reason           TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    dead_lettered_at INTEGER NOT NULL
);

-- Duplicate detection: every message id sent, with when. Rows are inserted in
-- time order, so old ones are pruned by rowid (see sweep.go).
CREATE TABLE message_ids (
    message_id TEXT    NOT NULL UNIQUE,
    sent_at    INTEGER NOT NULL
);
