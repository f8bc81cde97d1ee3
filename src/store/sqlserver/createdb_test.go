package sqlserver

import (
	"context"
	"strings"
	"testing"
)

func TestCreateDatabaseSQL(t *testing.T) {
	got, err := createDatabaseSQL("dropoff_write")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"IF DB_ID(N'dropoff_write') IS NULL CREATE DATABASE [dropoff_write];",
		"IF (SELECT is_read_committed_snapshot_on FROM sys.databases WHERE name = N'dropoff_write') = 0 ALTER DATABASE [dropoff_write] SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE;",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("createDatabaseSQL =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got, err = createDatabaseSQL("a]'b")
	if err != nil || !strings.Contains(got[0], "N'a]''b'") || !strings.Contains(got[0], "[a]]'b]") {
		t.Errorf("createDatabaseSQL(a]'b) = %q, %v: want both quotings escaped", got, err)
	}
	if _, err := createDatabaseSQL(""); err == nil {
		t.Error("createDatabaseSQL(\"\"): no error")
	}
}

func TestCreateDatabaseNeedsADatabaseName(t *testing.T) {
	err := CreateDatabase(context.Background(), "sqlserver://sa:pw@localhost:1", Config{})
	if err == nil || !strings.Contains(err.Error(), "names no database") {
		t.Errorf("CreateDatabase without a database = %v, want it to say so", err)
	}
}

// On a real server: create, create again (nothing happens), and the store
// opens on it.
func TestCreateDatabaseOnAServer(t *testing.T) {
	server := testServer(t)
	dsn, err := withDatabase(server, "dropoff_test_"+randomSuffix(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := CreateDatabase(t.Context(), dsn, Config{}); err != nil {
			t.Fatalf("CreateDatabase: %v", err)
		}
	}
	dropOnCleanup(t, server, dsn)
	s, err := OpenWriteStore(t.Context(), dsn, Config{})
	if err != nil {
		t.Fatalf("OpenWriteStore on the created database: %v", err)
	}
	_ = s.Close()
}
