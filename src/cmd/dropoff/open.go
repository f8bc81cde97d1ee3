package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/backoff"
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
	bus.BacklogReader
	// Pacing is how the worker should pace its sessions on this adapter.
	Pacing() bus.Pacing
	// Settings are the queue's properties in effect (Service Bus: as read
	// from the service where the identity may), logged at start so that an
	// operator sees the lock and delivery count the worker runs with.
	Settings() bus.Settings
	// PingSend and PingReceive are the readiness checks of the roles that
	// send (the command API) and receive (the worker).
	PingSend(ctx context.Context) error
	PingReceive(ctx context.Context) error
}

// embeddedLockDuration is the embedded queue's lock unless --lock-duration
// says otherwise: short, so that a walkthrough's kill -9 of the worker shows
// its messages delivered again within seconds. Service Bus queues keep the
// lock they were deployed with (servicebus.DefaultSettings).
const embeddedLockDuration = 10 * time.Second

// opener opens the adapters a process's configuration names.
type opener struct {
	c      config
	auth   *azureAuth
	logger *slog.Logger
	reg    prometheus.Registerer
	// waiting, when set, is told what start-up is waiting for while a store
	// is retried ("" once it opened), for the readiness answer.
	waiting func(what string)
	// retry paces openRetrying; zero: 1s doubling to 30s.
	retry backoff.Policy
}

// queue opens Service Bus when it is configured, the embedded queue otherwise.
func (o opener) queue(ctx context.Context) (queue, func() error, error) {
	c, logger := o.c, o.logger
	if c.ServiceBusNamespace != "" || c.ServiceBusConnectionString != "" {
		return o.serviceBus(ctx)
	}
	if err := azureOnly(c, "the queue", "DROPOFF_SERVICEBUS_NAMESPACE"); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(c.DataDir, "queue.db")
	q, err := sqlitebus.Open(path, sqlitebus.Config{
		MaxDeliveryCount:  c.MaxDeliveryCount,
		LockDuration:      cmp.Or(c.LockDuration, embeddedLockDuration),
		DuplicateWindow:   c.DuplicateWindow,
		DefaultTimeToLive: c.QueueTTL,
		Logger:            logger,
		Registerer:        o.reg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open embedded queue: %w", err)
	}
	logSettings(logger, "bus: embedded session queue", q.Settings(), "file", path)
	return q, q.Close, nil
}

// serviceBus opens the Service Bus queue. Its properties are the ones
// Dropoff deploys (servicebus.DefaultSettings, which bicep/ and the tests
// hold to), each overridden by its flag when set.
func (o opener) serviceBus(ctx context.Context) (queue, func() error, error) {
	c, logger := o.c, o.logger
	settings := servicebus.DefaultSettings()
	settings.MaxDeliveryCount = cmp.Or(c.MaxDeliveryCount, settings.MaxDeliveryCount)
	settings.LockDuration = cmp.Or(c.LockDuration, settings.LockDuration)
	settings.DuplicateWindow = cmp.Or(c.DuplicateWindow, settings.DuplicateWindow)
	settings.DefaultTimeToLive = cmp.Or(c.QueueTTL, settings.DefaultTimeToLive)
	cfg := servicebus.Config{
		Namespace:        c.ServiceBusNamespace,
		ConnectionString: c.ServiceBusConnectionString,
		Queue:            c.ServiceBusQueue,
		Settings:         settings,
		Logger:           logger,
		Registerer:       o.reg,
	}
	switch {
	case c.ServiceBusNamespace != "":
		cred, err := o.auth.credential()
		if err != nil {
			return nil, nil, err
		}
		cfg.Credential = cred
	case c.AzureAuth == authManagedIdentity:
		return nil, nil, errors.New("azure-auth managed-identity: a Service Bus connection string holds a key; set DROPOFF_SERVICEBUS_NAMESPACE instead")
	}
	q, err := servicebus.Open(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open service bus queue %s: %w", c.ServiceBusQueue, err)
	}
	logSettings(logger, "bus: Azure Service Bus", q.Settings(), "queue", c.ServiceBusQueue)
	return q, func() error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return q.Close(cctx)
	}, nil
}

// logSettings logs msg with the queue's settings in effect, and attrs.
func logSettings(logger *slog.Logger, msg string, s bus.Settings, attrs ...any) {
	logger.Info(msg, append(attrs, "lock_duration", s.LockDuration.String(), "max_delivery_count", s.MaxDeliveryCount,
		"default_ttl", s.DefaultTimeToLive.String(), "duplicate_window", s.DuplicateWindow.String())...)
}

// writeDB is the write store with its change feed, and what retention does
// with them: trim the worker's inbox and the applied feed, give space back.
type writeDB interface {
	store.WriteStore
	store.Feed
	store.FeedLag
	store.OperationTrimmer
	store.KeyTrimmer
	store.FeedTrimmer
	store.Compacter
	Close() error
}

// projectionDB is the projection, for the projector and the query API, and
// what retention does with it.
type projectionDB interface {
	store.Projection
	store.Queries
	store.OperationTrimmer
	store.Compacter
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

// database is what opening one of the two databases needs to know.
type database struct {
	name    string // "write database", "projection database"
	setting string // the URL, as configured
	env     string // its environment variable, for messages
	file    string // the SQLite file in the data directory by default
	conns   int    // the SQL Server pool's size
	// migrate applies SQL Server migrations on open (dropoff migrate); the
	// roles only check the schema, so they need no right to change it.
	migrate bool
}

func (o opener) writeDB(ctx context.Context, db database) (writeDB, error) {
	target, server, err := o.locate(db)
	switch {
	case err != nil:
		return nil, err
	case server == nil:
		w, err := sqlite.OpenWriteStore(ctx, target, sqlite.Config{Logger: o.logger})
		if err == nil {
			o.countCommits("write", w)
		}
		return asWriteDB(w, err)
	}
	return openRetrying(ctx, o, db.name, func() (writeDB, error) {
		return asWriteDB(sqlserver.OpenWriteStore(ctx, target, *server))
	})
}

func (o opener) projectionDB(ctx context.Context, db database) (projectionDB, error) {
	target, server, err := o.locate(db)
	switch {
	case err != nil:
		return nil, err
	case server == nil:
		p, err := sqlite.OpenProjection(ctx, target, sqlite.Config{Logger: o.logger})
		if err == nil {
			o.countCommits("projection", p)
		}
		return asProjectionDB(p, err)
	}
	return openRetrying(ctx, o, db.name, func() (projectionDB, error) {
		return asProjectionDB(sqlserver.OpenProjection(ctx, target, *server))
	})
}

// countCommits exports an embedded database's commits as
// dropoff_sqlite_commits_total{database}: each is an fsync, and commits per
// command show the group commit at work (dropoff load reads them).
func (o opener) countCommits(database string, c interface{ Commits() int64 }) {
	if o.reg == nil {
		return
	}
	_ = o.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "dropoff_sqlite_commits_total",
		Help:        "Write transactions committed to an embedded SQLite database (each one fsync).",
		ConstLabels: prometheus.Labels{"database": database},
	}, func() float64 { return float64(c.Commits()) }))
}

// asWriteDB and asProjectionDB keep a failed open's typed nil pointer out of
// the interface, where it would not compare equal to nil.
func asWriteDB[S writeDB](s S, err error) (writeDB, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

func asProjectionDB[S projectionDB](p S, err error) (projectionDB, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// locate resolves db's URL: for SQL Server the target and its configuration,
// for SQLite the file (its directory created) and a nil configuration.
func (o opener) locate(db database) (target string, server *sqlserver.Config, err error) {
	kind, target, err := dbURL(db.setting, o.c.DataDir, db.file)
	if err != nil {
		return "", nil, err
	}
	o.logger.Info(db.name, "kind", kind)
	if kind == "sqlite" {
		if err := azureOnly(o.c, "the "+db.name, db.env); err != nil {
			return "", nil, err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return "", nil, fmt.Errorf("create data directory: %w", err)
		}
		return target, nil, nil
	}
	cfg := sqlserver.Config{Logger: o.logger, SkipMigrations: !db.migrate, MaxConns: db.conns}
	if o.c.AzureAuth == authManagedIdentity {
		if err := checkManagedDSN(target); err != nil {
			return "", nil, fmt.Errorf("%s (%s): %w", db.name, db.env, err)
		}
	}
	if cfg.Credential, err = o.auth.credential(); err != nil {
		return "", nil, err
	}
	return target, &cfg, nil
}

// checkManagedDSN refuses, with managed-identity authentication, a SQL Server
// URL that signs in some other way: a user and password (a secret) or a
// fedauth workflow (the driver's own, which may try developer logins).
func checkManagedDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.User != nil || u.Query().Has("user id") || u.Query().Has("password") {
		return errors.New("azure-auth managed-identity: the URL must name no user or password; the managed identity signs in")
	}
	for k := range u.Query() {
		if strings.EqualFold(k, "fedauth") {
			return errors.New("azure-auth managed-identity: remove fedauth from the URL; Dropoff signs in with the managed identity itself")
		}
	}
	return nil
}

// openRetrying opens a SQL Server store that may not be ready yet: a server
// still starting, a serverless database waking from its pause (about a
// minute), or a user and schema that `dropoff dbinit` has not created yet, as
// on the first `azd up`. It tries again, with a backoff from 1s to 30s, until
// it opens or ctx ends, logging why each time. Anything else (a bad DSN, a
// failed migration) fails at once. Meanwhile the process answers /healthz
// (it is alive) and /readyz with 503 naming what it waits for.
func openRetrying[T any](ctx context.Context, o opener, what string, open func() (T, error)) (T, error) {
	retry := cmp.Or(o.retry, backoff.Policy{Initial: time.Second, Max: 30 * time.Second})
	for attempt := 1; ; attempt++ {
		v, err := open()
		if err == nil {
			o.wait("")
			return v, nil
		}
		passing := errors.Is(err, sqlserver.ErrUnreachable) || errors.Is(err, sqlserver.ErrSchemaBehind)
		if !passing || ctx.Err() != nil {
			return v, err
		}
		d := retry.Delay(attempt)
		o.logger.Warn("cannot open the "+what+"; retrying", "error", err, "attempt", attempt, "backoff", d.String())
		o.wait("waiting for the " + what)
		if !backoff.Sleep(ctx, d) {
			return v, fmt.Errorf("open the %s: %w (last error: %w)", what, ctx.Err(), err)
		}
	}
}

func (o opener) wait(what string) {
	if o.waiting != nil {
		o.waiting(what)
	}
}
