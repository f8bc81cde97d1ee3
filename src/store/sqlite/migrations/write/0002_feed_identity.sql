-- feed_identity names this database's change feed: one random id, written
-- once, when the schema is created, that no other database has. A projection
-- records the identity of the feed it follows (projector_state.feed_identity
-- in read.db), and the projector refuses a feed with another one: positions
-- of one feed mean nothing in another. A copy of this file restored from a
-- backup keeps the identity; the projector's checkpoint check catches that.
CREATE TABLE feed_identity (
    id TEXT NOT NULL
) STRICT;

INSERT INTO feed_identity (id) VALUES (lower(hex(randomblob(16))));
