package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dropoff-dev/dropoff/src/store/sqlserver"
)

// migrate brings both databases' schemas up to date and exits. Against SQL
// Server it is the only command, with dbinit, that changes a schema: the
// roles only check that theirs is current, so their identities need no right
// to alter it. SQLite stores migrate whenever they are opened.
func migrate(ctx context.Context, c config, logger *slog.Logger) error {
	open := opener{c: c, auth: &azureAuth{c: c}, logger: logger}
	w, err := open.writeDB(ctx, database{name: "write database", setting: c.WriteDB, env: "DROPOFF_WRITE_DB",
		file: "write.db", conns: 2, migrate: true})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	p, err := open.projectionDB(ctx, database{name: "projection database", setting: c.ReadDB, env: "DROPOFF_READ_DB",
		file: "read.db", conns: 2, migrate: true})
	if err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}

// createDatabases creates the SQL Server databases --write-db and --read-db
// name, where they do not exist yet: for a development server such as the
// devcontainer's, before `dropoff migrate` (a deployment's come from Bicep).
func createDatabases(ctx context.Context, c config, logger *slog.Logger) error {
	for _, db := range []struct{ name, url string }{{"write", c.WriteDB}, {"projection", c.ReadDB}} {
		kind, target, err := dbURL(db.url, c.DataDir, "")
		if err != nil {
			return err
		}
		if kind != "sqlserver" {
			return fmt.Errorf("createdb: the %s database is not on SQL Server (set DROPOFF_WRITE_DB and DROPOFF_READ_DB to sqlserver:// URLs); SQLite files are created when opened", db.name)
		}
		if err := sqlserver.CreateDatabase(ctx, target, sqlserver.Config{Logger: logger}); err != nil {
			return err
		}
		logger.Info("database in place", "database", db.name)
	}
	return nil
}
