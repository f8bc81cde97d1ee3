package sqlserver

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The T-SQL that dbinit runs, built by pure functions so that tests can read
// it without a server. CREATE USER and GRANT take no parameters, so names and
// SIDs are written into the text: every name goes through quoteName, every
// string through quoteString, and a SID is hex digits from a parsed GUID.

// quoteName quotes an identifier as QUOTENAME does: in brackets, with each ]
// doubled. A name must be a sysname: 1 to 128 characters, none of them a
// control character.
func quoteName(name string) (string, error) {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 128 || !utf8.ValidString(name) {
		return "", fmt.Errorf("sqlserver: database name %q: want 1 to 128 characters of valid UTF-8", name)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("sqlserver: database name %q: control characters are not allowed", name)
	}
	return "[" + strings.ReplaceAll(name, "]", "]]") + "]", nil
}

// quoteString writes s as a Unicode string literal, each ' doubled.
func quoteString(s string) string {
	return "N'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// sidFromClientID turns a managed identity's client id into the SID an Entra
// database user carries: the GUID's 16 bytes in SQL Server's uniqueidentifier
// order, which is what CAST(CAST('<client id>' AS uniqueidentifier) AS
// varbinary(16)) returns. That order is the Windows GUID layout: the first
// three groups are little-endian, the last two are kept as written. So
// 6F9619FF-8B86-D011-B42D-00C04FC964FF becomes 0xFF19966F868B11D0B42D00C04FC964FF
// (the example of SQL Server's uniqueidentifier documentation).
// Only the canonical 8-4-4-4-12 form is accepted.
func sidFromClientID(clientID string) ([]byte, error) {
	u, err := uuid.Parse(clientID)
	if err != nil || len(clientID) != 36 {
		return nil, fmt.Errorf("sqlserver: client id %q: want a GUID such as 00000000-0000-0000-0000-000000000000", clientID)
	}
	sid := u[:] // uuid.UUID holds the bytes in the order they are written
	reverse(sid[0:4])
	reverse(sid[4:6])
	reverse(sid[6:8])
	return sid, nil
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// binaryLiteral writes bytes as a T-SQL binary constant: 0x and hex digits.
func binaryLiteral(b []byte) string {
	return "0x" + strings.ToUpper(hex.EncodeToString(b))
}

// createUserSQL creates the database user of a managed identity without a
// directory lookup: CREATE USER … WITH SID = <client id as binary(16)>,
// TYPE = E (E: an external, Entra, user). FROM EXTERNAL PROVIDER would need
// the server to read Microsoft Graph, which fails when dbinit itself runs as a
// service principal.
//
// It is idempotent: it creates the user only if no principal has the name.
// A principal with the name but another SID (an identity deleted and created
// again under the same name, whose client id changed) is not silently taken
// over or dropped: the batch fails and says what to do.
func createUserSQL(name, clientID string) (string, error) {
	user, err := quoteName(name)
	if err != nil {
		return "", err
	}
	sid, err := sidFromClientID(clientID)
	if err != nil {
		return "", err
	}
	lit, sidHex := quoteString(name), binaryLiteral(sid)
	msg := quoteString(fmt.Sprintf(
		"database user %s exists with another SID than client id %s: DROP USER %s, then run dbinit again",
		user, clientID, user))
	return fmt.Sprintf(`IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = %[1]s AND sid <> %[2]s)
BEGIN
    THROW 50000, %[4]s, 1;
END
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = %[1]s)
    CREATE USER %[3]s WITH SID = %[2]s, TYPE = E;`, lit, sidHex, user, msg), nil
}

// Permissions a role may be granted on a table.
var tablePermissions = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true}

// tableGrant is the permissions a role's user has on one table of dbo.
type tableGrant struct {
	table string
	perms []string
	// columns, when set, limits the grant to those columns.
	columns []string
}

// grantSQL grants a user permissions on one table of the dbo schema:
// GRANT … ON OBJECT::[dbo].[table]. GRANT is idempotent: granting again
// what is granted changes nothing.
func grantSQL(name string, g tableGrant) (string, error) {
	user, err := quoteName(name)
	if err != nil {
		return "", err
	}
	table, err := quoteName(g.table)
	if err != nil {
		return "", err
	}
	if len(g.perms) == 0 {
		return "", fmt.Errorf("sqlserver: grant on %s: no permissions", g.table)
	}
	for _, p := range g.perms {
		if !tablePermissions[p] {
			return "", fmt.Errorf("sqlserver: grant on %s: permission %q is not one of SELECT, INSERT, UPDATE, DELETE", g.table, p)
		}
	}
	cols := ""
	if len(g.columns) > 0 {
		quoted := make([]string, len(g.columns))
		for i, c := range g.columns {
			if quoted[i], err = quoteName(c); err != nil {
				return "", err
			}
		}
		cols = " (" + strings.Join(quoted, ", ") + ")"
	}
	return fmt.Sprintf("GRANT %s ON OBJECT::[dbo].%s%s TO %s;", strings.Join(g.perms, ", "), table, cols, user), nil
}

// revokeSchemaSQL takes back schema-wide table permissions, which earlier
// versions of dbinit granted, so that a deployment upgraded in place ends
// with the object-level grants alone. Revoking what was never granted is no
// error.
func revokeSchemaSQL(name string) (string, error) {
	user, err := quoteName(name)
	if err != nil {
		return "", err
	}
	return "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM " + user + ";", nil
}

// principalBySIDSQL finds the database principal, if any, that a client id
// maps to; dbinit uses it to check that the command API has no user.
func principalBySIDSQL(clientID string) (string, error) {
	sid, err := sidFromClientID(clientID)
	if err != nil {
		return "", err
	}
	return "SELECT name FROM sys.database_principals WHERE sid = " + binaryLiteral(sid) + ";", nil
}
