package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
	"github.com/dropoff-dev/dropoff/src/store/sqlserver"
)

// This file is the one place that chooses adapters: Azure Service Bus or the
// embedded queue, SQL Server or SQLite. Nothing else in Dropoff knows which
// one it runs on.

// queue is what the roles need of a bus, whichever adapter provides it.
type queue interface {
	bus.Sender
	bus.Receiver
	bus.DeadLetters
	Settings() bus.Settings
}

// openQueue opens Service Bus when it is configured, the embedded queue otherwise.
func openQueue(ctx context.Context, c config, logger *slog.Logger, reg prometheus.Registerer) (queue, func() error, error) {
	if c.ServiceBusNamespace != "" || c.ServiceBusConnectionString != "" {
		q, err := servicebus.Open(ctx, servicebus.Config{
			Namespace:        c.ServiceBusNamespace,
			ConnectionString: c.ServiceBusConnectionString,
			Queue:            c.ServiceBusQueue,
			// The queue's properties as deployed (bicep/, the emulator's
			// Config.json); the worker and the query API rely on them.
			Settings: bus.Settings{
				MaxDeliveryCount:       c.MaxDeliveryCount,
				LockDuration:           c.LockDuration,
				DuplicateWindow:        c.DuplicateWindow,
				DefaultTimeToLive:      c.QueueTTL,
				DeadLetterOnExpiration: true,
			},
			Logger:     logger,
			Registerer: reg,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("open service bus queue %s: %w", c.ServiceBusQueue, err)
		}
		logger.Info("bus: Azure Service Bus", "queue", c.ServiceBusQueue)
		return q, func() error { return q.Close(context.WithoutCancel(ctx)) }, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(c.DataDir, "queue.db")
	q, err := sqlitebus.Open(path, sqlitebus.Config{
		MaxDeliveryCount:  c.MaxDeliveryCount,
		LockDuration:      c.LockDuration,
		DuplicateWindow:   c.DuplicateWindow,
		DefaultTimeToLive: c.QueueTTL,
		Logger:            logger,
		Registerer:        reg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open embedded queue: %w", err)
	}
	logger.Info("bus: embedded session queue", "file", path)
	return q, q.Close, nil
}

// writeDB is the write store with its change feed.
type writeDB interface {
	store.WriteStore
	store.Feed
	Close() error
}

// projectionDB is the projection, for the projector and the query API.
type projectionDB interface {
	store.Projection
	store.Queries
	Close() error
}

// dbURL resolves a database setting: "" means a SQLite file of that name in
// the data directory; "sqlite:<path>" a SQLite file; "sqlserver://…" SQL Server.
func dbURL(setting, dataDir, file string) (kind, target string, err error) {
	switch {
	case setting == "":
		return "sqlite", filepath.Join(dataDir, file), nil
	case strings.HasPrefix(setting, "sqlite:"):
		return "sqlite", strings.TrimPrefix(setting, "sqlite:"), nil
	case strings.HasPrefix(setting, "sqlserver://"):
		return "sqlserver", setting, nil
	}
	return "", "", fmt.Errorf("database URL %q: want sqlite:<path> or sqlserver://…", redact(setting))
}

// redact keeps a URL's scheme and host and hides the rest, which may hold a password.
func redact(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		return "…" + s[i:]
	}
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func openWriteDB(ctx context.Context, c config, logger *slog.Logger) (writeDB, error) {
	kind, target, err := dbURL(c.WriteDB, c.DataDir, "write.db")
	if err != nil {
		return nil, err
	}
	logger.Info("write database", "kind", kind)
	if kind == "sqlserver" {
		return sqlserver.OpenWriteStore(ctx, target, sqlserver.Config{Logger: logger})
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlite.OpenWriteStore(ctx, target, sqlite.Config{Logger: logger})
}

func openProjectionDB(ctx context.Context, c config, logger *slog.Logger) (projectionDB, error) {
	kind, target, err := dbURL(c.ReadDB, c.DataDir, "read.db")
	if err != nil {
		return nil, err
	}
	logger.Info("projection database", "kind", kind)
	if kind == "sqlserver" {
		return sqlserver.OpenProjection(ctx, target, sqlserver.Config{Logger: logger})
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlite.OpenProjection(ctx, target, sqlite.Config{Logger: logger})
}
