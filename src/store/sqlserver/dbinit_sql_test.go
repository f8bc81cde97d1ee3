package sqlserver

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"
	mssql "github.com/microsoft/go-mssqldb"
)

func TestQuoteName(t *testing.T) {
	tests := []struct {
		name    string
		want    string
		wantErr bool
	}{
		{"id-dropoff-worker", "[id-dropoff-worker]", false},
		{"a]b", "[a]]b]", false},
		{"]]", "[]]]]]", false},
		{"[x", "[[x]", false},
		{"x'; DROP USER y; --", "[x'; DROP USER y; --]", false},
		{strings.Repeat("é", 128), "[" + strings.Repeat("é", 128) + "]", false},
		{"", "", true},
		{strings.Repeat("a", 129), "", true},
		{"line\nbreak", "", true},
		{"nul\x00", "", true},
		{"bad\xffutf8", "", true},
	}
	for _, tt := range tests {
		got, err := quoteName(tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("quoteName(%q): error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("quoteName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestQuoteString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "N'plain'",
		"O'Brien":      "N'O''Brien'",
		"''":           "N''''''",
		"]":            "N']'",
		"x'; DROP --":  "N'x''; DROP --'",
		"":             "N''",
		"Zoë's parcel": "N'Zoë''s parcel'",
	} {
		if got := quoteString(in); got != want {
			t.Errorf("quoteString(%q) = %q, want %q", in, got, want)
		}
	}
}

// Each expected SID is what SQL Server returns for
// CAST(CAST('<guid>' AS uniqueidentifier) AS varbinary(16)).
func TestSIDFromClientID(t *testing.T) {
	tests := []struct{ clientID, want string }{
		// The example of SQL Server's uniqueidentifier documentation.
		{"6F9619FF-8B86-D011-B42D-00C04FC964FF", "0xFF19966F868B11D0B42D00C04FC964FF"},
		{"6f9619ff-8b86-d011-b42d-00c04fc964ff", "0xFF19966F868B11D0B42D00C04FC964FF"},
		// Byte positions made visible: 00112233 → 33221100, 4455 → 5544, 6677 → 7766, the rest as written.
		{"00112233-4455-6677-8899-aabbccddeeff", "0x33221100554477668899AABBCCDDEEFF"},
		// A client id as Azure shows it, and the SID an Entra user made for it carries.
		{"1b6b4f9c-719f-4034-84ff-606fdda81e5a", "0x9C4F6B1B9F71344084FF606FDDA81E5A"},
	}
	for _, tt := range tests {
		sid, err := sidFromClientID(tt.clientID)
		if err != nil {
			t.Errorf("sidFromClientID(%q): %v", tt.clientID, err)
			continue
		}
		if got := binaryLiteral(sid); got != tt.want {
			t.Errorf("sidFromClientID(%q) = %s, want %s", tt.clientID, got, tt.want)
		}
	}
}

// The driver converts its UniqueIdentifier to the bytes SQL Server stores
// with the same swap; the two must agree for any GUID.
func TestSIDMatchesDriverUniqueIdentifier(t *testing.T) {
	for range 100 {
		id := uuid.New()
		sid, err := sidFromClientID(id.String())
		if err != nil {
			t.Fatal(err)
		}
		v, err := mssql.UniqueIdentifier(id).Value()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sid, v.([]byte)) {
			t.Fatalf("sidFromClientID(%s) = %x, driver's uniqueidentifier bytes %x", id, sid, v)
		}
	}
}

func TestSIDFromClientIDRejects(t *testing.T) {
	for _, id := range []string{
		"", "not-a-guid", "worker",
		"6F9619FF8B86D011B42D00C04FC964FF",       // no hyphens
		"{6F9619FF-8B86-D011-B42D-00C04FC964FF}", // braces
		"urn:uuid:6F9619FF-8B86-D011-B42D-00C04FC964FF",
		"6F9619FF-8B86-D011-B42D-00C04FC964F",       // one digit short
		"6F9619FF-8B86-D011-B42D-00C04FC964FG",      // not hex
		"6F9619FF-8B86-D011-B42D-00C04FC964FF'; --", // an injection attempt
	} {
		if sid, err := sidFromClientID(id); err == nil {
			t.Errorf("sidFromClientID(%q) = %x, want an error", id, sid)
		}
	}
}

func TestCreateUserSQL(t *testing.T) {
	got, err := createUserSQL("id-worker", "6f9619ff-8b86-d011-b42d-00c04fc964ff")
	if err != nil {
		t.Fatal(err)
	}
	want := `IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'id-worker' AND sid <> 0xFF19966F868B11D0B42D00C04FC964FF)
BEGIN
    THROW 50000, N'database user [id-worker] exists with another SID than client id 6f9619ff-8b86-d011-b42d-00c04fc964ff: DROP USER [id-worker], then run dbinit again', 1;
END
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'id-worker')
    CREATE USER [id-worker] WITH SID = 0xFF19966F868B11D0B42D00C04FC964FF, TYPE = E;`
	if got != want {
		t.Errorf("createUserSQL =\n%s\nwant\n%s", got, want)
	}
}

// A name with both quote characters must come out as one identifier in the
// CREATE USER and one string literal in the guards.
func TestCreateUserSQLQuotesHostileName(t *testing.T) {
	got, err := createUserSQL("a]b'c", "00112233-4455-6677-8899-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"WHERE name = N'a]b''c' AND sid <> 0x33221100554477668899AABBCCDDEEFF",
		"IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'a]b''c')",
		"CREATE USER [a]]b'c] WITH SID = 0x33221100554477668899AABBCCDDEEFF, TYPE = E;",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("createUserSQL(a]b'c) lacks %q; got\n%s", want, got)
		}
	}
	if strings.Count(got, "CREATE USER") != 1 {
		t.Errorf("createUserSQL creates more than one user:\n%s", got)
	}
}

func TestCreateUserSQLRejects(t *testing.T) {
	for _, tt := range []struct{ name, clientID string }{
		{"worker", "worker"},
		{"worker", ""},
		{"", "00112233-4455-6677-8899-aabbccddeeff"},
		{strings.Repeat("n", 129), "00112233-4455-6677-8899-aabbccddeeff"},
	} {
		if got, err := createUserSQL(tt.name, tt.clientID); err == nil {
			t.Errorf("createUserSQL(%q, %q) = %q, want an error", tt.name, tt.clientID, got)
		}
	}
}

func TestGrantSQL(t *testing.T) {
	got, err := grantSQL("id-projector", tableGrant{table: "shipments", perms: []string{"SELECT", "INSERT", "UPDATE", "DELETE"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "GRANT SELECT, INSERT, UPDATE, DELETE ON OBJECT::[dbo].[shipments] TO [id-projector];"; got != want {
		t.Errorf("grantSQL = %q, want %q", got, want)
	}
	if got, _ := grantSQL("q", tableGrant{table: "t", perms: []string{"SELECT"}, columns: []string{"a", "b]"}}); got != "GRANT SELECT ON OBJECT::[dbo].[t] ([a], [b]]]) TO [q];" {
		t.Errorf("column grant = %q", got)
	}
	if got, _ := grantSQL("q]", tableGrant{table: "a]b", perms: []string{"SELECT"}}); got != "GRANT SELECT ON OBJECT::[dbo].[a]]b] TO [q]]];" {
		t.Errorf("grantSQL(q], a]b) = %q", got)
	}
	for _, perms := range [][]string{nil, {"CONTROL"}, {"SELECT", "ALTER"}, {"SELECT ON SCHEMA::dbo TO public; --"}, {"select"}} {
		if got, err := grantSQL("x", tableGrant{table: "shipments", perms: perms}); err == nil {
			t.Errorf("grantSQL(x, %q) = %q, want an error", perms, got)
		}
	}
	if got, err := grantSQL("", tableGrant{table: "shipments", perms: []string{"SELECT"}}); err == nil {
		t.Errorf("grantSQL(\"\") = %q, want an error", got)
	}
	if got, err := grantSQL("x", tableGrant{table: "", perms: []string{"SELECT"}}); err == nil {
		t.Errorf("grantSQL on no table = %q, want an error", got)
	}
}

func TestRevokeSchemaSQL(t *testing.T) {
	got, err := revokeSchemaSQL("id-w]")
	if want := "REVOKE SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[dbo] FROM [id-w]]];"; err != nil || got != want {
		t.Errorf("revokeSchemaSQL = %q, %v; want %q", got, err, want)
	}
}

func TestPrincipalBySIDSQL(t *testing.T) {
	got, err := principalBySIDSQL("00112233-4455-6677-8899-AABBCCDDEEFF")
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT name FROM sys.database_principals WHERE sid = 0x33221100554477668899AABBCCDDEEFF;"; got != want {
		t.Errorf("principalBySIDSQL = %q, want %q", got, want)
	}
	if _, err := principalBySIDSQL("nope"); err == nil {
		t.Error("principalBySIDSQL(nope): no error")
	}
}
