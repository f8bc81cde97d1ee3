package sqlserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A test gets an empty database in one of two ways.
//
// Created (the default, for a server where the login may create databases,
// such as the devcontainer's): newDatabase creates dropoff_test_<random>
// with READ_COMMITTED_SNAPSHOT on, as Azure SQL Database has it, and drops
// it when the test ends. The suite drops no database it did not create.
//
// Leased: Azure SQL Database makes a database per subtest slow, billed and,
// for a login without dbmanager, impossible. So DROPOFF_TEST_SQLSERVER_DATABASES
// may list databases made beforehand on the same server (names starting
// dropoff_test_, at least four: some tests hold a write and a projection
// database, or two write databases, at once):
//
//	DROPOFF_TEST_SQLSERVER_DATABASES=dropoff_test_1,dropoff_test_2,dropoff_test_3,dropoff_test_4
//
// A test then leases a free one: it takes an exclusive application lock in
// that database (sp_getapplock, owned by a session it keeps open for the
// test, so concurrent runs, from any machine, take turns), drops every table
// Dropoff's migrations create, and hands it over empty; the lock goes when
// the test ends. Positions do not restart at the beginning (the database's
// rowversion counter never goes back), which the contracts do not assume.
const databasesEnv = "DROPOFF_TEST_SQLSERVER_DATABASES"

const (
	leaseResource = "dropoff/test-lease"
	leaseWait     = 5 * time.Minute // longest a test waits for a free database
	testPrefix    = "dropoff_test_"
)

// newDatabase returns the DSN of an empty database for this test, created
// or leased.
func newDatabase(t *testing.T, server string) string {
	t.Helper()
	names, err := testDatabases(os.Getenv(databasesEnv))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		return leaseDatabase(t, server, names)
	}
	dsn, err := withDatabase(server, testPrefix+randomSuffix(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateDatabase(t.Context(), dsn, Config{}); err != nil {
		t.Fatalf("create a test database (on a server where that is not allowed, list databases in %s): %v", databasesEnv, err)
	}
	dropOnCleanup(t, server, dsn)
	return dsn
}

// testDatabases parses DROPOFF_TEST_SQLSERVER_DATABASES: names separated by
// commas, each a test database's.
func testDatabases(v string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !strings.HasPrefix(n, testPrefix) {
			return nil, fmt.Errorf("%s: %q does not start with %s; the suite drops the tables of the databases it leases, so it takes only databases named for tests", databasesEnv, n, testPrefix)
		}
		if _, err := quoteName(n); err != nil {
			return nil, fmt.Errorf("%s: %w", databasesEnv, err)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// leasePools keeps one small pool per leased database for the whole run.
var leasePools sync.Map // name → *sql.DB

func leasePool(ctx context.Context, server, name string) (*sql.DB, error) {
	if db, ok := leasePools.Load(name); ok {
		return db.(*sql.DB), nil
	}
	dsn, err := withDatabase(server, name)
	if err != nil {
		return nil, err
	}
	db, err := OpenDB(ctx, dsn, Config{MaxConns: 8})
	if err != nil {
		return nil, fmt.Errorf("connect to test database %s: %w", name, err)
	}
	if prev, loaded := leasePools.LoadOrStore(name, db); loaded {
		_ = db.Close()
		return prev.(*sql.DB), nil
	}
	return db, nil
}

// errLeased: another test holds the database.
var errLeased = errors.New("leased by another test")

// leaseDatabase takes the first free database of names, empties it and
// returns its DSN; the lease ends with the test.
func leaseDatabase(t *testing.T, server string, names []string) string {
	t.Helper()
	deadline := time.Now().Add(leaseWait)
	for {
		for _, name := range names {
			conn, err := tryLease(t.Context(), server, name)
			if errors.Is(err, errLeased) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { endLease(conn) })
			if err := resetDatabase(t.Context(), conn); err != nil {
				t.Fatalf("empty test database %s: %v", name, err)
			}
			dsn, err := withDatabase(server, name)
			if err != nil {
				t.Fatal(err)
			}
			return dsn
		}
		if time.Now().After(deadline) {
			t.Fatalf("no free database among %s (%s) within %v: list more, or run fewer suites at once", databasesEnv, strings.Join(names, ", "), leaseWait)
		}
		time.Sleep(200 * time.Millisecond) // other tests' leases end when they do
	}
}

// tryLease takes database name's lease without waiting: a connection that
// holds it, or errLeased.
func tryLease(ctx context.Context, server, name string) (*sql.Conn, error) {
	db, err := leasePool(ctx, server, name)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("test database %s: %w", name, err)
	}
	var code int
	err = conn.QueryRowContext(ctx, `
DECLARE @result INT;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = N'Exclusive', @LockOwner = N'Session', @LockTimeout = 0;
SELECT @result;`, sql.Named("resource", leaseResource)).Scan(&code)
	switch {
	case err != nil:
		_ = conn.Close()
		return nil, fmt.Errorf("lease test database %s: %w", name, err)
	case code == -1:
		_ = conn.Close()
		return nil, errLeased
	case code < 0:
		_ = conn.Close()
		return nil, fmt.Errorf("lease test database %s: sp_getapplock returned %d", name, code)
	}
	return conn, nil
}

// endLease releases the lock; closing the connection would too, but a
// pooled connection is only reset, not closed, so release it explicitly.
func endLease(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `EXEC sp_releaseapplock @Resource = @resource, @LockOwner = N'Session';`,
		sql.Named("resource", leaseResource)); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discard it: the lock goes with it
	}
	_ = conn.Close()
}

// resetDatabase checks the database reads as Azure SQL's do and drops every
// table of Dropoff's, so the test's store migrates an empty database.
func resetDatabase(ctx context.Context, conn *sql.Conn) error {
	var rcsi bool
	if err := conn.QueryRowContext(ctx, `SELECT is_read_committed_snapshot_on FROM sys.databases WHERE name = DB_NAME();`).Scan(&rcsi); err != nil {
		return err
	}
	if !rcsi {
		return errors.New("READ_COMMITTED_SNAPSHOT is off, unlike on Azure SQL Database: make it with `dropoff createdb`, or ALTER DATABASE … SET READ_COMMITTED_SNAPSHOT ON")
	}
	q, err := dropTablesSQL()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, q)
	return err
}

// dropTablesSQL drops every table either migration set creates, and
// schema_migrations.
func dropTablesSQL() (string, error) {
	tables := []string{"schema_migrations"}
	err := fs.WalkDir(migrationFiles, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrationFiles, path)
		if err != nil {
			return err
		}
		for _, m := range createTable.FindAllStringSubmatch(sqlComment.ReplaceAllString(string(b), ""), -1) {
			if !slices.Contains(tables, m[1]) {
				tables = append(tables, m[1])
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	quoted := make([]string, len(tables))
	for i, name := range tables {
		q, err := quoteName(name)
		if err != nil {
			return "", err
		}
		quoted[i] = "dbo." + q
	}
	return "DROP TABLE IF EXISTS " + strings.Join(quoted, ", ") + ";", nil
}

// randomSuffix is 12 hex digits, for names no other run uses.
func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// dropOnCleanup drops the database dsn names when the test ends: only ever
// one this test created.
func dropOnCleanup(t *testing.T, server, dsn string) {
	t.Helper()
	u, err := checkDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := param(u, "database")
	db, err := quoteName(name)
	if err != nil || !strings.HasPrefix(name, testPrefix) {
		t.Fatalf("refusing to drop %q: not a test database", name)
	}
	master, err := OpenDB(t.Context(), server, Config{})
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	// t.Context is cancelled before cleanups run, so the drop gets its own.
	t.Cleanup(func() {
		defer master.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// ROLLBACK IMMEDIATE ends sessions a failed test left behind.
		if _, err := master.ExecContext(ctx, "ALTER DATABASE "+db+" SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE "+db+";"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
}

func TestTestDatabases(t *testing.T) {
	got, err := testDatabases(" dropoff_test_1, ,dropoff_test_2,dropoff_test_1 ")
	if err != nil || !slices.Equal(got, []string{"dropoff_test_1", "dropoff_test_2"}) {
		t.Errorf("got %v, %v; want the two names once each", got, err)
	}
	if got, err := testDatabases(""); err != nil || len(got) != 0 {
		t.Errorf("empty: got %v, %v; want none (create databases instead)", got, err)
	}
	for _, bad := range []string{"dropoff_write", "dropoff_test_1,master", "Dropoff_Test_1"} {
		if _, err := testDatabases(bad); err == nil {
			t.Errorf("testDatabases(%q): no error, want a refusal (the suite drops their tables)", bad)
		}
	}
}

// TestDropTablesCoversTheSchema: a leased database is emptied of every
// table the migrations make, whichever set made it.
func TestDropTablesCoversTheSchema(t *testing.T) {
	q, err := dropTablesSQL()
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"schema_migrations", "shipments", "operations", "idempotency_keys", "change_feed",
		"feed_identity", "history", "projector_state"} {
		if !strings.Contains(q, "dbo.["+table+"]") {
			t.Errorf("%s leaves %s:\n%s", "dropTablesSQL", table, q)
		}
	}
	if strings.Count(q, "dbo.[shipments]") != 1 {
		t.Errorf("dropTablesSQL names shipments more than once:\n%s", q)
	}
}
