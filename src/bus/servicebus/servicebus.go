package servicebus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Bus is one Service Bus queue with sessions, seen through the bus port. It
// holds one azservicebus.Client (one AMQP connection) and one long-lived
// sender for the life of the process; receivers come and go with sessions.
// It is safe for concurrent use.
type Bus struct {
	queue    string
	settings bus.Settings
	cfg      Config
	log      *slog.Logger
	metrics  *metrics

	client   closer // closing it closes every link made from it
	sender   sender
	acceptor sessionAcceptor
	dlq      dlqOpener
	// runtime makes the management client Backlog reads from, once (nil:
	// none, as in tests that build a Bus from fakes).
	runtime func() (runtimeGetter, error)
	// newTimer is the clock lock renewal waits on; tests replace it.
	newTimer func(d time.Duration) (c <-chan time.Time, stop func() bool)

	mu       sync.Mutex
	closed   bool
	sessions map[*Session]struct{} // open ones, so Close can close them
	pinger   dlqReceiver           // PingReceive's peek link, opened on first use

	lockChecked sync.Once // the first accepted session's lock is compared with Settings
}

var (
	_ bus.Sender      = (*Bus)(nil)
	_ bus.Receiver    = (*Bus)(nil)
	_ bus.DeadLetters = (*Bus)(nil)
	_ bus.Session     = (*Session)(nil)
)

type closer interface {
	Close(ctx context.Context) error
}

// parts are what a Bus is made of; Open builds them from the SDK, tests
// from fakes.
type parts struct {
	client   closer
	sender   sender
	acceptor sessionAcceptor
	dlq      dlqOpener
}

// Open connects to the queue cfg names. It does not dial: the connection
// opens on the first send or accept, so a role that only receives needs no
// send rights (and the other way round). A wrong namespace, credential or
// queue shows up as the first call's error, and in readiness checks.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, getter, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.ReadSettings {
		if cfg.Settings, err = settingsFromService(ctx, cfg, getter); err != nil {
			_ = client.Close(ctx)
			return nil, err
		}
	}
	s, err := client.NewSender(cfg.Queue, nil)
	if err != nil {
		_ = client.Close(ctx)
		return nil, fmt.Errorf("new sender for %s: %w", cfg.Queue, err)
	}
	sdk := sdkClient{client: client, queue: cfg.Queue}
	b, err := newBus(cfg, parts{client: client, sender: sdkSender{s}, acceptor: sdk, dlq: sdk})
	if err != nil {
		_ = client.Close(ctx)
		return nil, err
	}
	b.runtime = sync.OnceValues(func() (runtimeGetter, error) {
		g, err := getter()
		if err != nil {
			return nil, err
		}
		r, ok := g.(runtimeGetter)
		if !ok {
			return nil, fmt.Errorf("servicebus: %T cannot read runtime properties", g)
		}
		return r, nil
	})
	if cfg.Registerer != nil {
		if _, err := register[prometheus.Collector](cfg.Registerer, newDepthCollector(b)); err != nil {
			return nil, errors.Join(err, b.Close(ctx))
		}
	}
	return b, nil
}

// newClients makes the data-plane client and, lazily, the management one,
// both from the same credential. Errors never quote the connection string:
// it holds a key.
func newClients(cfg Config) (*azservicebus.Client, func() (queueGetter, error), error) {
	opts := &azservicebus.ClientOptions{ApplicationID: "dropoff"}
	if cfg.ConnectionString != "" {
		client, err := azservicebus.NewClientFromConnectionString(cfg.ConnectionString, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("service bus client from connection string: %w", err)
		}
		return client, func() (queueGetter, error) {
			return admin.NewClientFromConnectionString(cfg.ConnectionString, adminOptions())
		}, nil
	}
	cred := cfg.Credential
	if cred == nil {
		// DefaultAzureCredential tries, in order, environment variables,
		// workload identity, managed identity (AZURE_CLIENT_ID selects a
		// user-assigned one) and developer tools such as the Azure CLI and azd.
		var err error
		if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
			return nil, nil, fmt.Errorf("azure credential: %w", err)
		}
	}
	client, err := azservicebus.NewClient(cfg.Namespace, cred, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("service bus client for %s: %w", cfg.Namespace, err)
	}
	return client, func() (queueGetter, error) {
		return admin.NewClient(cfg.Namespace, cred, adminOptions())
	}, nil
}

// adminOptions makes the management client try once: reading the settings
// is optional, and a host without a management endpoint (the emulator)
// should cost one refused connection at Open, not a round of retries with
// backoff.
func adminOptions() *admin.ClientOptions {
	opts := &admin.ClientOptions{}
	opts.Retry.MaxRetries = -1 // azcore: below zero disables retries
	return opts
}

// settingsFromService reads the queue's properties. Failing to ask (no
// Manage right, no management endpoint) keeps cfg.Settings; a queue that is
// missing or has no sessions fails Open.
func settingsFromService(ctx context.Context, cfg Config, getter func() (queueGetter, error)) (bus.Settings, error) {
	g, err := getter()
	if err != nil {
		cfg.Logger.Warn("servicebus: cannot read the queue's properties; using the configured settings", "queue", cfg.Queue, "error", err)
		return cfg.Settings, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := readSettings(ctx, g, cfg.Queue, cfg.Settings)
	var unusable *errQueueUnusable
	switch {
	case errors.As(err, &unusable):
		return s, err
	case err != nil:
		cfg.Logger.Warn("servicebus: cannot read the queue's properties; using the configured settings", "queue", cfg.Queue, "error", err)
		return cfg.Settings, nil
	}
	level := slog.LevelInfo
	if s != cfg.Settings {
		// What the adapter was told (or DefaultSettings, the queue Dropoff
		// deploys) is not what the queue is: the queue wins, but someone
		// should know, since the roles without the Manage right cannot tell.
		level = slog.LevelWarn
	}
	cfg.Logger.Log(ctx, level, "servicebus: queue properties read from the service", "queue", cfg.Queue,
		"max_delivery_count", s.MaxDeliveryCount, "lock_duration", s.LockDuration.String(),
		"duplicate_window", s.DuplicateWindow.String(), "default_ttl", s.DefaultTimeToLive.String(),
		"dead_letter_on_expiration", s.DeadLetterOnExpiration, "matches_configured", s == cfg.Settings)
	return s, nil
}

// newBus assembles a Bus; cfg has its defaults already.
func newBus(cfg Config, p parts) (*Bus, error) {
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return &Bus{
		queue:    cfg.Queue,
		settings: cfg.Settings,
		cfg:      cfg,
		log:      cfg.Logger.With("queue", cfg.Queue),
		metrics:  m,
		client:   p.client,
		sender:   p.sender,
		acceptor: p.acceptor,
		dlq:      p.dlq,
		newTimer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
		sessions: make(map[*Session]struct{}),
	}, nil
}

// Settings returns the queue's properties as configured (or as read from the
// service with Config.ReadSettings).
func (b *Bus) Settings() bus.Settings { return b.settings }

// Pacing is how a worker should pace its sessions on Service Bus, where an
// accept and a receive's first message each cost network round trips:
//   - AcceptTimeout 30s: the service holds an accept open until a session
//     has work or the deadline passes, so a long wait is free while idle and
//     an idle worker makes two accepts a minute per slot, not twelve;
//   - IdleTimeout 2s: a receive's first message takes a flow-and-transfer
//     round trip plus broker time, tens of milliseconds in Azure, and the
//     session was paid for with an accept: keep it while more may come;
//   - MaxSessionHold 30s: a busy session is handed back only after many
//     batches, since taking it again costs another accept.
//
// dapr's Service Bus component holds an idle session for 60s; Dropoff's
// sessions are per shipment, and most shipments get a handful of commands,
// so a shorter idle hold gives the slot to the next shipment sooner.
func (b *Bus) Pacing() bus.Pacing {
	return bus.Pacing{AcceptTimeout: 30 * time.Second, IdleTimeout: 2 * time.Second, MaxSessionHold: 30 * time.Second}
}

// Close closes every open Session (stopping and waiting for their lock
// renewal), the sender and the client, in that order. No goroutine of the
// adapter outlives it. Later calls on b return bus.ErrClosed; a second Close
// returns nil.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ctx, cancel := closing(ctx)
	defer cancel()
	open := make([]*Session, 0, len(b.sessions))
	for s := range b.sessions {
		open = append(open, s)
	}
	b.mu.Unlock()

	var errs []error
	for _, s := range open {
		errs = append(errs, s.Close(ctx))
	}
	b.mu.Lock()
	pinger := b.pinger
	b.mu.Unlock()
	if pinger != nil {
		closeLink(ctx, pinger) // a peek link holds nothing to lose
	}
	if err := b.sender.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close sender: %w", err))
	}
	if err := b.client.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close client: %w", err))
	}
	return errors.Join(errs...)
}

// closeTimeout bounds every close the adapter makes: closing a link waits for
// the service to answer the detach, and a connection that hangs must not hold
// up a shutdown, or a session's release, for ever.
const closeTimeout = 10 * time.Second

// closing is the context for closing something on ctx's behalf: not canceled
// with ctx (a release must still happen when the caller gives up, or the
// session waits out its lock), bounded by closeTimeout, and by ctx's own
// deadline when that is sooner.
func closing(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(closeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) && ctx.Err() == nil {
		d = dl
	}
	return context.WithDeadline(context.WithoutCancel(ctx), d)
}

// closeLink closes a dead-letter or peek link within closing(ctx).
func closeLink(ctx context.Context, r dlqReceiver) {
	ctx, cancel := closing(ctx)
	defer cancel()
	_ = r.Close(ctx) // a failed detach leaves nothing behind: its locks expire
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// track records an open session and starts its lock renewal, both under
// b.mu, so that Close finds every session it must close with its renewal
// running; false if the Bus closed meanwhile.
func (b *Bus) track(s *Session) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.sessions[s] = struct{}{}
	b.metrics.openSessions.Inc()
	s.startRenewal()
	return true
}

func (b *Bus) forget(s *Session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.sessions, s)
}
