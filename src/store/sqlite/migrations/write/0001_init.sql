-- The write database: the worker's state, its inbox and the change feed.
-- Times are TEXT in RFC 3339, UTC, with nanoseconds, so they read well and
-- round-trip exactly.

-- shipments holds every shipment ever created. A cancelled one stays as a
-- tombstone (deleted = 1) so that its version keeps growing if its id is used
-- again.
CREATE TABLE shipments (
    id           TEXT    PRIMARY KEY,
    recipient    TEXT    NOT NULL,
    destination  TEXT    NOT NULL,
    weight_grams INTEGER NOT NULL,
    service      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;

-- operations is the inbox and the outcome of every processed command: a
-- command whose operation id is here has been applied (or has failed) already.
CREATE TABLE operations (
    id               TEXT    PRIMARY KEY,
    kind             TEXT    NOT NULL,
    shipment_id      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    resource_version INTEGER NOT NULL,
    error_code       TEXT,
    error_message    TEXT,
    created_at       TEXT    NOT NULL,
    last_updated_at  TEXT    NOT NULL
) STRICT;

-- idempotency_keys remembers the first request sent with each key.
CREATE TABLE idempotency_keys (
    key_digest     TEXT PRIMARY KEY,
    request_digest TEXT NOT NULL,
    operation_id   TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

-- changes is the change feed: one entry per processed command, appended in
-- the command's transaction. AUTOINCREMENT, not a plain rowid: a rowid may
-- reuse the largest value after that row is deleted, and a feed position must
-- never be handed out twice. Writers are serialised (BEGIN IMMEDIATE), so
-- positions commit in increasing order. payload is the entry as JSON.
CREATE TABLE changes (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id TEXT    NOT NULL,
    shipment_id  TEXT    NOT NULL,
    change_type  TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    committed_at TEXT    NOT NULL
) STRICT;
