package sqlserver

import (
	"context"
	"errors"
	"fmt"
)

// CreateDatabase creates the database dsn names, if it does not exist yet,
// on a development server such as the devcontainer's: it connects to the
// server's master database with dsn's credentials and needs the right to
// create databases (sa has it). The new database gets READ_COMMITTED_SNAPSHOT
// on, as every Azure SQL database has it, so that reads do not wait for
// writers here either. A deployment does not use this: Bicep creates its
// databases. Idempotent.
func CreateDatabase(ctx context.Context, dsn string, cfg Config) error {
	u, err := checkDSN(dsn)
	if err != nil {
		return err
	}
	name := param(u, "database")
	if name == "" {
		return errors.New("sqlserver: create database: the URL names no database (…?database=<name>)")
	}
	statements, err := createDatabaseSQL(name)
	if err != nil {
		return fmt.Errorf("sqlserver: create database: %w", err)
	}
	master, err := withDatabase(dsn, "master")
	if err != nil {
		return err
	}
	cfg.MaxConns = 1
	db, err := OpenDB(ctx, master, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range statements {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlserver: create database %s: %w", name, err)
		}
	}
	return nil
}

// createDatabaseSQL is the T-SQL of CreateDatabase. CREATE DATABASE and
// ALTER DATABASE cannot run in a transaction, so they are separate batches.
func createDatabaseSQL(name string) ([]string, error) {
	quoted, err := quoteName(name)
	if err != nil {
		return nil, err
	}
	return []string{
		"IF DB_ID(" + quoteString(name) + ") IS NULL CREATE DATABASE " + quoted + ";",
		"IF (SELECT is_read_committed_snapshot_on FROM sys.databases WHERE name = " + quoteString(name) + ") = 0 " +
			"ALTER DATABASE " + quoted + " SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE;",
	}, nil
}
