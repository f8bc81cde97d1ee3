package sqlitebus

import (
	"context"
	"database/sql"
	"fmt"
)

// The columns of a message, in the order scanMessage reads them.
const messageColumns = `seq, message_id, session_id, subject, content_type, properties, body,
	time_to_live, enqueued_at, expires_at, delivery_count`

// statements are the prepared statements, one field each, so that a
// misspelt statement is a compile error. Prepared on the *sql.DB, a
// statement is compiled once per connection and reused by every transaction
// on it (batch.stmt binds it to the batch's transaction).
type statements struct {
	// The writer's savepoint around an operation (writer.go).
	savepoint, rollbackTo, release *sql.Stmt

	// send.go
	rememberID, insertMessage, addSession *sql.Stmt

	// session.go
	expiredSessions, lockFree, lockSession, nextUnlock, lockOf, renewLock *sql.Stmt
	oldestSeq, unlock, dropSession, dropIfEmpty, delivered                *sql.Stmt

	// settle.go
	available, deliver, makeAvailable, returnUndelivered, heldCount *sql.Stmt
	completeHeld, copyToDLQ, deleteMessage                          *sql.Stmt

	// sweep.go
	expired, pruneIDs *sql.Stmt

	// deadletters.go
	peekDLQ, getDLQ, deleteDLQ *sql.Stmt

	// names are the statements' names, for error messages.
	names map[*sql.Stmt]string
}

// The statements' text.
const (
	sqlRememberID = `INSERT INTO message_ids (message_id, sent_at) VALUES (?1, ?2)
		ON CONFLICT (message_id) DO UPDATE SET sent_at = excluded.sent_at
		WHERE message_ids.sent_at < ?3`
	sqlInsertMessage = `INSERT INTO messages (message_id, session_id, subject, content_type,
		properties, body, time_to_live, enqueued_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?)`
	sqlAddSession = `INSERT INTO sessions (session_id, oldest_seq) VALUES (?1, ?2)
		ON CONFLICT (session_id) DO NOTHING`

	sqlExpiredSessions = `SELECT session_id FROM sessions WHERE token IS NOT NULL AND locked_until <= ?1
		ORDER BY locked_until LIMIT ?2`
	// sqlLockFree locks the free session whose oldest message has waited
	// longest, and names it: a look and a lock in one statement.
	sqlLockFree = `UPDATE sessions SET token = ?1, locked_until = ?2
		WHERE session_id = (SELECT session_id FROM sessions WHERE token IS NULL ORDER BY oldest_seq LIMIT 1)
		RETURNING session_id`
	sqlLockSession = `UPDATE sessions SET token = ?2, locked_until = ?3
		WHERE session_id = ?1 AND locked_until <= ?4`
	sqlNextUnlock  = `SELECT MIN(locked_until) FROM sessions WHERE token IS NOT NULL AND locked_until > ?1`
	sqlLockOf      = `SELECT token, locked_until FROM sessions WHERE session_id = ?1`
	sqlRenewLock   = `UPDATE sessions SET locked_until = ?3 WHERE session_id = ?1 AND token = ?2 AND locked_until > ?4`
	sqlOldestSeq   = `SELECT MIN(seq) FROM messages WHERE session_id = ?1`
	sqlUnlock      = `UPDATE sessions SET token = NULL, locked_until = 0, oldest_seq = ?2 WHERE session_id = ?1`
	sqlDropSession = `DELETE FROM sessions WHERE session_id = ?1`
	// sqlDropIfEmpty releases a session by dropping it, in one statement,
	// when the lock is still the holder's and no message is left.
	sqlDropIfEmpty = `DELETE FROM sessions WHERE session_id = ?1 AND token = ?2 AND locked_until > ?3
		AND NOT EXISTS (SELECT 1 FROM messages WHERE session_id = ?1)`
	sqlDelivered = `SELECT seq, delivery_count FROM messages
		WHERE session_id = ?1 AND lock_token IS NOT NULL`

	sqlAvailable = `SELECT ` + messageColumns + ` FROM messages
		WHERE session_id = ?1 AND lock_token IS NULL ORDER BY seq LIMIT ?2`
	sqlDeliver           = `UPDATE messages SET lock_token = ?2, delivery_count = delivery_count + 1 WHERE seq = ?1`
	sqlMakeAvailable     = `UPDATE messages SET lock_token = NULL WHERE seq = ?1`
	sqlReturnUndelivered = `UPDATE messages SET lock_token = NULL, delivery_count = delivery_count - 1
		WHERE seq = ?1 AND delivery_count > 0`
	sqlHeldCount = `SELECT delivery_count FROM messages WHERE seq = ?1 AND lock_token = ?2`
	// sqlCompleteHeld is a completion and its lock check in one statement: it
	// deletes the message only while it is held under the session's live lock.
	sqlCompleteHeld = `DELETE FROM messages WHERE seq = ?1 AND lock_token = ?2
		AND EXISTS (SELECT 1 FROM sessions WHERE session_id = ?3 AND token = ?2 AND locked_until > ?4)`
	sqlCopyToDLQ = `INSERT INTO dead_letters (` + messageColumns + `, reason, description, dead_lettered_at)
		SELECT ` + messageColumns + `, ?2, ?3, ?4 FROM messages WHERE seq = ?1`
	sqlDeleteMessage = `DELETE FROM messages WHERE seq = ?1`

	sqlExpired = `SELECT m.seq FROM messages m WHERE m.expires_at > 0 AND m.expires_at <= ?1
		AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = m.session_id
			AND s.token = m.lock_token AND s.locked_until > ?1)
		ORDER BY m.expires_at LIMIT ?2`
	sqlPruneIDs = `DELETE FROM message_ids WHERE rowid < IFNULL(
		(SELECT rowid FROM message_ids WHERE sent_at >= ?1 ORDER BY rowid LIMIT 1),
		9223372036854775807)`

	sqlPeekDLQ = `SELECT ` + messageColumns + `, reason, description FROM dead_letters
		WHERE seq >= ?1 ORDER BY seq LIMIT ?2`
	sqlGetDLQ    = `SELECT ` + messageColumns + `, reason, description FROM dead_letters WHERE seq = ?1`
	sqlDeleteDLQ = `DELETE FROM dead_letters WHERE seq = ?1`
)

// prepare prepares every statement.
func prepare(ctx context.Context, db *sql.DB) (*statements, error) {
	st := &statements{names: map[*sql.Stmt]string{}}
	for _, s := range []struct {
		field      **sql.Stmt
		name, text string
	}{
		{&st.savepoint, "savepoint", `SAVEPOINT op`},
		{&st.rollbackTo, "rollbackTo", `ROLLBACK TO op`},
		{&st.release, "release", `RELEASE op`},
		{&st.rememberID, "rememberID", sqlRememberID},
		{&st.insertMessage, "insertMessage", sqlInsertMessage},
		{&st.addSession, "addSession", sqlAddSession},
		{&st.expiredSessions, "expiredSessions", sqlExpiredSessions},
		{&st.lockFree, "lockFree", sqlLockFree},
		{&st.lockSession, "lockSession", sqlLockSession},
		{&st.nextUnlock, "nextUnlock", sqlNextUnlock},
		{&st.lockOf, "lockOf", sqlLockOf},
		{&st.renewLock, "renewLock", sqlRenewLock},
		{&st.oldestSeq, "oldestSeq", sqlOldestSeq},
		{&st.unlock, "unlock", sqlUnlock},
		{&st.dropSession, "dropSession", sqlDropSession},
		{&st.dropIfEmpty, "dropIfEmpty", sqlDropIfEmpty},
		{&st.delivered, "delivered", sqlDelivered},
		{&st.available, "available", sqlAvailable},
		{&st.deliver, "deliver", sqlDeliver},
		{&st.makeAvailable, "makeAvailable", sqlMakeAvailable},
		{&st.returnUndelivered, "returnUndelivered", sqlReturnUndelivered},
		{&st.heldCount, "heldCount", sqlHeldCount},
		{&st.completeHeld, "completeHeld", sqlCompleteHeld},
		{&st.copyToDLQ, "copyToDLQ", sqlCopyToDLQ},
		{&st.deleteMessage, "deleteMessage", sqlDeleteMessage},
		{&st.expired, "expired", sqlExpired},
		{&st.pruneIDs, "pruneIDs", sqlPruneIDs},
		{&st.peekDLQ, "peekDLQ", sqlPeekDLQ},
		{&st.getDLQ, "getDLQ", sqlGetDLQ},
		{&st.deleteDLQ, "deleteDLQ", sqlDeleteDLQ},
	} {
		p, err := db.PrepareContext(ctx, s.text)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare %s: %w", s.name, err)
		}
		*s.field = p
		st.names[p] = s.name
	}
	return st, nil
}

// name is what error messages call statement s.
func (st *statements) name(s *sql.Stmt) string { return st.names[s] }

// close releases the statements. Their errors are ignored: closing a
// prepared statement cannot lose data.
func (st *statements) close() {
	for s := range st.names {
		s.Close()
	}
}
