package main

import (
	"context"
	"log/slog"
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
