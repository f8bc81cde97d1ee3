package sqlitebus

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// migrations holds the schema, one file per version, applied in name order.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the migrations newer than the file's user_version, in one
// transaction. BEGIN IMMEDIATE makes two processes opening a new file at once
// take turns; the second finds the schema already there.
func migrate(ctx context.Context, conn *sql.Conn) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(names) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(names))
	}
	for i := version; i < len(names); i++ {
		text, err := migrations.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("read %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			return fmt.Errorf("apply %s: %w", names[i], err)
		}
	}
	// PRAGMA takes no parameters; the number is ours, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(names))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return tx.Commit()
}

// The columns of a message, in the order scanMessage reads them.
const messageColumns = `seq, message_id, session_id, subject, content_type, properties, body,
	time_to_live, enqueued_at, expires_at, delivery_count`

// The statements, prepared once. Prepared on the *sql.DB, a statement is
// compiled once per connection and reused by every transaction on it.
var statementText = map[string]string{
	"savepoint":  `SAVEPOINT op`,
	"rollbackTo": `ROLLBACK TO op`,
	"release":    `RELEASE op`,

	// send.go
	"rememberID": `INSERT INTO message_ids (message_id, sent_at) VALUES (?1, ?2)
		ON CONFLICT (message_id) DO UPDATE SET sent_at = excluded.sent_at
		WHERE message_ids.sent_at < ?3`,
	"insertMessage": `INSERT INTO messages (message_id, session_id, subject, content_type,
		properties, body, time_to_live, enqueued_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?)`,
	"addSession": `INSERT INTO sessions (session_id, oldest_seq) VALUES (?1, ?2)
		ON CONFLICT (session_id) DO NOTHING`,

	// session.go
	"expiredSessions": `SELECT session_id FROM sessions WHERE token IS NOT NULL AND locked_until <= ?1
		ORDER BY locked_until LIMIT ?2`,
	"freeSessions": `SELECT session_id FROM sessions WHERE token IS NULL ORDER BY oldest_seq LIMIT ?1`,
	"lockSession": `UPDATE sessions SET token = ?2, locked_until = ?3
		WHERE session_id = ?1 AND locked_until <= ?4`,
	"nextUnlock":  `SELECT MIN(locked_until) FROM sessions WHERE token IS NOT NULL AND locked_until > ?1`,
	"lockOf":      `SELECT token, locked_until FROM sessions WHERE session_id = ?1`,
	"renewLock":   `UPDATE sessions SET locked_until = ?3 WHERE session_id = ?1 AND token = ?2 AND locked_until > ?4`,
	"oldestSeq":   `SELECT MIN(seq) FROM messages WHERE session_id = ?1`,
	"unlock":      `UPDATE sessions SET token = NULL, locked_until = 0, oldest_seq = ?2 WHERE session_id = ?1`,
	"dropSession": `DELETE FROM sessions WHERE session_id = ?1`,
	"delivered": `SELECT seq, delivery_count FROM messages
		WHERE session_id = ?1 AND lock_token IS NOT NULL`,

	// settle.go
	"available": `SELECT ` + messageColumns + ` FROM messages
		WHERE session_id = ?1 AND lock_token IS NULL ORDER BY seq LIMIT ?2`,
	"deliver":       `UPDATE messages SET lock_token = ?2, delivery_count = delivery_count + 1 WHERE seq = ?1`,
	"makeAvailable": `UPDATE messages SET lock_token = NULL WHERE seq = ?1`,
	"returnUndelivered": `UPDATE messages SET lock_token = NULL, delivery_count = delivery_count - 1
		WHERE seq = ?1 AND delivery_count > 0`,
	"heldCount": `SELECT delivery_count FROM messages WHERE seq = ?1 AND lock_token = ?2`,
	"complete":  `DELETE FROM messages WHERE seq = ?1 AND lock_token = ?2`,
	"copyToDLQ": `INSERT INTO dead_letters (` + messageColumns + `, reason, description, dead_lettered_at)
		SELECT ` + messageColumns + `, ?2, ?3, ?4 FROM messages WHERE seq = ?1`,
	"deleteMessage": `DELETE FROM messages WHERE seq = ?1`,

	// sweep.go
	"nextExpiry": `SELECT MIN(expires_at) FROM messages WHERE expires_at > 0`,
	"expired": `SELECT m.seq FROM messages m WHERE m.expires_at > 0 AND m.expires_at <= ?1
		AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = m.session_id
			AND s.token = m.lock_token AND s.locked_until > ?1)
		ORDER BY m.expires_at LIMIT ?2`,
	"pruneIDs": `DELETE FROM message_ids WHERE rowid < IFNULL(
		(SELECT rowid FROM message_ids WHERE sent_at >= ?1 ORDER BY rowid LIMIT 1),
		9223372036854775807)`,

	// deadletters.go
	"peekDLQ": `SELECT ` + messageColumns + `, reason, description FROM dead_letters
		WHERE seq >= ?1 ORDER BY seq LIMIT ?2`,
	"getDLQ":    `SELECT ` + messageColumns + `, reason, description FROM dead_letters WHERE seq = ?1`,
	"deleteDLQ": `DELETE FROM dead_letters WHERE seq = ?1`,
}

// statements are the prepared statements, by the names above.
type statements struct {
	byName map[string]*sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (*statements, error) {
	st := &statements{byName: make(map[string]*sql.Stmt, len(statementText))}
	for name, text := range statementText {
		s, err := db.PrepareContext(ctx, text)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare %s: %w", name, err)
		}
		st.byName[name] = s
	}
	return st, nil
}

// get returns the statement called name; a misspelt name is a bug.
func (st *statements) get(name string) *sql.Stmt {
	s, ok := st.byName[name]
	if !ok {
		panic("sqlitebus: no statement " + name)
	}
	return s
}

// close releases the statements. Their errors are ignored: closing a
// prepared statement cannot lose data.
func (st *statements) close() {
	for _, s := range st.byName {
		s.Close()
	}
}
