-- The projection database: what the query API reads, rebuilt from the write
-- database's change feed. Times are TEXT in RFC 3339, UTC, with nanoseconds.

-- shipments holds live shipments only: a cancel deletes the row.
CREATE TABLE shipments (
    id           TEXT    PRIMARY KEY,
    recipient    TEXT    NOT NULL,
    destination  TEXT    NOT NULL,
    weight_grams INTEGER NOT NULL,
    service      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
) STRICT;

-- The list filtered by status walks this index in id order.
CREATE INDEX shipments_status_id ON shipments (status, id);

-- history keeps every applied change, a cancelled shipment's included. The
-- primary key refuses a second entry for one version: the feed never produces
-- one, so it can only mean a corrupt batch, which Apply then rolls back whole.
CREATE TABLE history (
    shipment_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    operation_id TEXT    NOT NULL,
    PRIMARY KEY (shipment_id, version)
) STRICT, WITHOUT ROWID;

-- operations mirrors the write database's operations.
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

-- projector_state is a single row: how far the projector has applied the feed
-- (checkpoint), the feed's head when it last looked, and the times of the
-- last applied entry. It is updated in the same transaction as the rows.
CREATE TABLE projector_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    checkpoint        INTEGER NOT NULL,
    feed_head         INTEGER NOT NULL,
    last_committed_at TEXT,
    last_applied_at   TEXT
) STRICT;

INSERT INTO projector_state (id, checkpoint, feed_head) VALUES (1, 0, 0);
