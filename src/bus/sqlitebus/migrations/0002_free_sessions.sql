-- Finding the next session to accept, at any number of sessions.
--
-- A session is free when its token is NULL (never locked, or released) or
-- its lock ran out (its holder died or hung: a token with locked_until in
-- the past). Two partial indexes keep those apart: free sessions in the
-- order their oldest message arrived, locked ones by when their lock runs
-- out. An accept seeks the locked index for a lock that ran out (there is
-- rarely one), then takes the first free session: a few index entries
-- read, however many sessions wait or are held. sessions_by_age made it
-- step over every held session, looking each up in the table.
CREATE INDEX sessions_free ON sessions (oldest_seq) WHERE token IS NULL;
CREATE INDEX sessions_locked ON sessions (locked_until) WHERE token IS NOT NULL;
DROP INDEX sessions_by_age;
