package sqlserver

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store/storetest"
)

// The contract suites need a server. DROPOFF_TEST_SQLSERVER names one, e.g.
// the devcontainer's:
//
//	DROPOFF_TEST_SQLSERVER='sqlserver://sa:<password>@localhost:1433' go test ./src/store/sqlserver/
//
// Every store a test opens gets a database of its own (testdb_test.go says
// how: created for the test where the login may create databases, or leased
// from DROPOFF_TEST_SQLSERVER_DATABASES, as on Azure SQL Database). The
// suite never takes the program's own variables (DROPOFF_WRITE_DB,
// DROPOFF_READ_DB) for its server, and refuses a test URL that names one of
// their databases.
const serverEnv = "DROPOFF_TEST_SQLSERVER"

func testServer(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(serverEnv)
	if dsn == "" {
		t.Skip("SQL Server suites: set DROPOFF_TEST_SQLSERVER to a sqlserver:// URL of a server where tests may create databases")
	}
	if err := refuseProductionDB(dsn, os.Getenv); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// refuseProductionDB fails for a test URL that is not a sqlserver:// URL,
// or that names a database the program runs on (same host, same database).
func refuseProductionDB(dsn string, getenv func(string) string) error {
	u, err := checkDSN(dsn)
	if err != nil {
		return fmt.Errorf("%s: %w", serverEnv, err)
	}
	db := param(u, "database")
	if db == "" {
		return nil // the server's default database; the suite creates its own
	}
	for _, env := range []string{"DROPOFF_WRITE_DB", "DROPOFF_READ_DB"} {
		prod, err := checkDSN(getenv(env))
		if err != nil {
			continue // not SQL Server
		}
		if strings.EqualFold(prod.Hostname(), u.Hostname()) && strings.EqualFold(param(prod, "database"), db) {
			return fmt.Errorf("refusing %s: database %s is the one %s names, which Dropoff runs on", serverEnv, db, env)
		}
	}
	return nil
}

func TestRefuseProductionDB(t *testing.T) {
	prod := map[string]string{
		"DROPOFF_WRITE_DB": "sqlserver://sa:pw@sqlserver:1433?database=dropoff_write",
		"DROPOFF_READ_DB":  "sqlserver://sa:pw@sqlserver:1433?database=dropoff_read",
	}
	tests := []struct {
		dsn     string
		refused bool
	}{
		{"sqlserver://sa:pw@sqlserver:1433", false},
		{"sqlserver://sa:pw@sqlserver:1433?database=master", false},
		{"sqlserver://sa:pw@SQLServer:1433?Database=DROPOFF_WRITE", true},
		{"sqlserver://sa:pw@sqlserver?database=dropoff_read", true},
		{"sqlserver://sa:pw@elsewhere:1433?database=dropoff_write", false},
		{"postgres://localhost/db", true},
	}
	for _, tt := range tests {
		err := refuseProductionDB(tt.dsn, func(k string) string { return prod[k] })
		if (err != nil) != tt.refused {
			t.Errorf("refuseProductionDB(%q) = %v, want refused %v", tt.dsn, err, tt.refused)
		}
	}
}

func exec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func openWrite(t *testing.T, server string) *WriteStore {
	t.Helper()
	s, err := OpenWriteStore(t.Context(), newDatabase(t, server), Config{})
	if err != nil {
		t.Fatalf("OpenWriteStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() }) // runs before the database is dropped
	return s
}

func openProjection(t *testing.T, server string) *Projection {
	t.Helper()
	p, err := OpenProjection(t.Context(), newDatabase(t, server), Config{})
	if err != nil {
		t.Fatalf("OpenProjection: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestWriteStoreContract(t *testing.T) {
	server := testServer(t)
	storetest.RunWriteStore(t, func(t *testing.T) storetest.WriteDB { return openWrite(t, server) })
}

func TestProjectionContract(t *testing.T) {
	server := testServer(t)
	storetest.RunProjection(t, func(t *testing.T) storetest.ProjectionDB { return openProjection(t, server) })
}

func TestPipelineContract(t *testing.T) {
	server := testServer(t)
	storetest.RunPipeline(t,
		func(t *testing.T) storetest.WriteDB { return openWrite(t, server) },
		func(t *testing.T) storetest.ProjectionDB { return openProjection(t, server) })
}

// Replicas starting together all migrate; the application lock makes one
// apply each script and the others find nothing left to do.
func TestMigrateConcurrently(t *testing.T) {
	server := testServer(t)
	for _, set := range []string{writeSet, projectionSet} {
		t.Run(set, func(t *testing.T) {
			db, err := OpenDB(t.Context(), newDatabase(t, server), Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			errs := make([]error, 4)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = migrate(t.Context(), db, set, time.Minute, orDiscard(nil)) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			}
			all, err := loadMigrations(migrationFiles, "migrations/"+set)
			if err != nil {
				t.Fatal(err)
			}
			var recorded int
			if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM dbo.schema_migrations;").Scan(&recorded); err != nil {
				t.Fatal(err)
			}
			if recorded != len(all) {
				t.Errorf("schema_migrations has %d rows, want %d (one per migration)", recorded, len(all))
			}
		})
	}
}

// Every statement of every migration is guarded, so running the scripts again
// over the objects they created must change nothing and fail nowhere.
func TestMigrationScriptsRerun(t *testing.T) {
	server := testServer(t)
	for _, set := range []string{writeSet, projectionSet} {
		t.Run(set, func(t *testing.T) {
			db, err := OpenDB(t.Context(), newDatabase(t, server), Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := migrate(t.Context(), db, set, time.Minute, orDiscard(nil)); err != nil {
				t.Fatal(err)
			}
			all, err := loadMigrations(migrationFiles, "migrations/"+set)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range all {
				for i, b := range m.batches {
					if _, err := db.ExecContext(t.Context(), b); err != nil {
						t.Errorf("%04d_%s batch %d again: %v", m.version, m.name, i+1, err)
					}
				}
			}
		})
	}
}

// With SkipMigrations a store refuses a database that lacks its schema,
// naming the way out, and opens one that has it.
func TestSkipMigrationsChecksSchema(t *testing.T) {
	server := testServer(t)
	dsn := newDatabase(t, server)
	if s, err := OpenWriteStore(t.Context(), dsn, Config{SkipMigrations: true}); err == nil {
		_ = s.Close()
		t.Fatal("OpenWriteStore(SkipMigrations) on an empty database: no error")
	} else if !strings.Contains(err.Error(), "dropoff migrate") || !errors.Is(err, ErrSchemaBehind) {
		t.Errorf("OpenWriteStore(SkipMigrations) = %v, want ErrSchemaBehind naming dropoff migrate", err)
	}
	db, err := OpenDB(t.Context(), dsn, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := MigrateWrite(t.Context(), db, nil); err != nil {
		t.Fatalf("MigrateWrite: %v", err)
	}
	s, err := OpenWriteStore(t.Context(), dsn, Config{SkipMigrations: true})
	if err != nil {
		t.Fatalf("OpenWriteStore(SkipMigrations) after MigrateWrite: %v", err)
	}
	_ = s.Close()
}
