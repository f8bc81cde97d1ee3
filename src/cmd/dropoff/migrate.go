package main

import (
	"context"
	"log/slog"
)

// migrate opens both databases, which applies their embedded migrations, and
// closes them again. Deployments run it once before the roles start; the roles
// also migrate on start, serialised, so running it is an optimisation.
func migrate(ctx context.Context, c config, logger *slog.Logger) error {
	w, err := openWriteDB(ctx, c, logger)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	p, err := openProjectionDB(ctx, c, logger)
	if err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}
