package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// roles says which of the four roles a process runs. sync: the command API
// is the synchronous baseline (--mode sync), which applies each command
// itself; a process running it runs no worker.
type roles struct{ command, worker, projector, query, sync bool }

// rolesOf is the roles of a subcommand, in mode.
func rolesOf(cmd, mode string) roles {
	var r roles
	switch cmd {
	case "serve":
		r = roles{command: true, worker: true, projector: true, query: true}
	case "command-api":
		r = roles{command: true}
	case "worker":
		r = roles{worker: true}
	case "projector":
		r = roles{projector: true}
	case "query-api":
		r = roles{query: true}
	}
	if r.command && mode == modeSync {
		r.worker, r.sync = false, true // no queue, nothing for a worker to do
	}
	return r
}

func (r roles) String() string {
	s := ""
	command := "command-api"
	if r.sync {
		command = "command-api (the synchronous baseline: no queue, no worker)"
	}
	for _, x := range []struct {
		on   bool
		name string
	}{{r.command, command}, {r.worker, "worker"}, {r.projector, "projector"}, {r.query, "query-api"}} {
		if x.on {
			if s != "" {
				s += ","
			}
			s += x.name
		}
	}
	return s
}

// process holds what the roles of one process share: their stores, opened
// once and closed last first, the metrics registry, and the group of
// goroutines they run in.
type process struct {
	cfg     config
	roles   roles
	logger  *slog.Logger
	tracing telemetry.Tracing
	reg     *prometheus.Registry
	open    opener
	group   *errgroup.Group
	closers []func() error

	q     queue
	w     writeDB
	p     projectionDB
	ready []httpapi.ReadyCheck // one per store opened

	hub        *live.Hub      // the live page's events (live.go); nil: no page here
	writeDelay *simulate.Knob // the commands' write delay, turned by the lab
	listen     net.Addr       // where the process listens: the lab is on only on loopback
}

func (p *process) queue(ctx context.Context) (queue, error) {
	if p.q == nil {
		q, closeQ, err := p.open.queue(ctx)
		if err != nil {
			return nil, err
		}
		p.q, p.closers = q, append(p.closers, closeQ)
	}
	return p.q, nil
}

func (p *process) writeDB(ctx context.Context) (writeDB, error) {
	if p.w == nil {
		w, err := p.open.writeDB(ctx, p.writeDatabase())
		if err != nil {
			return nil, err
		}
		p.w, p.closers = w, append(p.closers, w.Close)
		p.ready = append(p.ready, httpapi.ReadyCheck{Name: "write-db", Check: w.Ping})
	}
	return p.w, nil
}

// commandStore is the write store that commands are applied to: the write
// database, slowed by --inject-write-delay, and by the lab's write delay
// while it is set (retention's deletes and the projector's reads are not
// commands, and are not slowed).
func (p *process) commandStore(ctx context.Context) (store.WriteStore, error) {
	w, err := p.writeDB(ctx)
	if err != nil {
		return nil, err
	}
	if p.writeDelay == nil {
		p.writeDelay = &simulate.Knob{}
		p.writeDelay.Set(p.cfg.InjectWriteDelay)
	}
	return simulate.Slowed{WriteStore: w, Knob: p.writeDelay}, nil
}

func (p *process) projectionDB(ctx context.Context) (projectionDB, error) {
	if p.p == nil {
		db, err := p.open.projectionDB(ctx, p.projectionDatabase())
		if err != nil {
			return nil, err
		}
		p.p, p.closers = db, append(p.closers, db.Close)
		p.ready = append(p.ready, httpapi.ReadyCheck{Name: "read-db", Check: db.Ping})
	}
	return p.p, nil
}

// writeDatabase describes the write database as this process's roles use
// it: the worker needs a connection per session it may be applying a command
// for, plus a few for the dead-letter recorder and readiness; the projector
// reads the feed on one.
func (p *process) writeDatabase() database {
	conns := 4
	if p.roles.worker {
		conns = p.cfg.WorkerSessions + 4
	}
	return database{name: "write database", setting: p.cfg.WriteDB, env: "DROPOFF_WRITE_DB", file: "write.db",
		conns: cmp.Or(p.cfg.DBConns, conns)}
}

// projectionDatabase: the query API answers many GETs at once; the
// projector applies one batch at a time.
func (p *process) projectionDatabase() database {
	conns := 4
	if p.roles.query {
		conns = 32
	}
	return database{name: "projection database", setting: p.cfg.ReadDB, env: "DROPOFF_READ_DB", file: "read.db",
		conns: cmp.Or(p.cfg.DBConns, conns)}
}

// lagFeed is the write database's feed, which the query API reads to tell
// the projection's true lag (GET /v1/stats, the Projection-Lag header): the
// one this process has open already (the all-in-one), or, for a query API on
// its own, the write database --write-db names, or, when the projection is
// the embedded one, the embedded write database beside it (which the worker
// shares, and may not have created yet). With a SQL Server projection and no
// --write-db: nil, and the lag is as the projector last saw it. The write
// database is no readiness check of the query API: a query API answers from
// the projection whatever the write side does.
func (p *process) lagFeed(ctx context.Context) (store.FeedLag, error) {
	if p.w != nil {
		return p.w, nil
	}
	if p.cfg.WriteDB == "" {
		if kind, _, err := dbURL(p.cfg.ReadDB, p.cfg.DataDir, "read.db"); err != nil || kind != "sqlite" {
			p.logger.Info("the projection's lag is reported as the projector last saw it: give --write-db for the true lag")
			return nil, nil
		}
	}
	w, err := p.open.writeDB(ctx, p.writeDatabase())
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, w.Close)
	return w, nil
}

// close closes what was opened, last first.
func (p *process) close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	return errors.Join(errs...)
}

// Main is one Dropoff process, built from its configuration in the style
// of a main function that can be tested: Open listens and starts the roles,
// URL says where it listens, Ready is closed once every role has started,
// and Wait returns once it has stopped. Nothing else reaches into it.
type Main struct {
	cfg     config
	logger  *slog.Logger
	tracing telemetry.Tracing
	roles   roles
	ln      net.Listener
	ready   chan struct{}
	done    chan struct{}
	err     error // why it stopped, once done is closed
}

// newMain is the process c describes, running roles r, traced with t (the
// zero Tracing: no spans).
func newMain(c config, logger *slog.Logger, r roles, t telemetry.Tracing) *Main {
	return &Main{cfg: c, logger: logger, tracing: t, roles: r, ready: make(chan struct{}), done: make(chan struct{})}
}

// Open listens, then starts the roles in the background, and returns: a
// taken port fails at once, before any store is opened (nothing is created),
// and while the stores open (a SQL Server database may take a while: see
// openRetrying) the process is alive (/healthz) but not ready (/readyz says
// what it waits for). The roles run until ctx is done or one fails.
func (m *Main) Open(ctx context.Context) error {
	ln, err := net.Listen("tcp", m.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.Addr, err)
	}
	if err := checkOpen(m.cfg, m.roles, ln.Addr(), m.logger); err != nil {
		return errors.Join(err, ln.Close())
	}
	m.ln = ln
	go func() {
		m.err = m.run(ctx)
		close(m.done)
	}()
	return nil
}

// URL is where the process listens, once Open has returned.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// Ready is closed once every role has started and the API serves.
func (m *Main) Ready() <-chan struct{} { return m.ready }

// Done is closed once the process has stopped.
func (m *Main) Done() <-chan struct{} { return m.done }

// Wait returns once the process has stopped: nil after ctx ended and every
// role shut down cleanly, or why it stopped.
func (m *Main) Wait() error {
	<-m.done
	return m.err
}

// run serves, starts the roles and waits for them; on the way out the HTTP
// server stops taking requests and finishes those in flight (a 202 is sent
// only once its command is stored), the worker settles what it is
// processing, and the stores are closed last.
func (m *Main) run(ctx context.Context) (err error) {
	c := m.cfg
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	group, gctx := errgroup.WithContext(ctx)
	var waiting atomic.Value // string: what start-up waits for, for /readyz
	waiting.Store("opening the stores")
	p := &process{cfg: c, roles: m.roles, logger: m.logger, tracing: m.tracing, reg: reg, group: group, listen: m.ln.Addr()}
	p.open = opener{c: c, auth: &azureAuth{c: c}, logger: m.logger, reg: reg, waiting: func(what string) {
		waiting.Store(cmp.Or(what, "opening the stores"))
	}}
	defer func() { err = errors.Join(err, p.close()) }()

	h := &switchHandler{}
	h.set(httpapi.Starting(func() string { return waiting.Load().(string) }))
	p.serveHTTP(gctx, m.ln, h, m.roles)
	api, err := p.startRoles(gctx)
	if err == nil {
		var handler http.Handler
		if handler, err = httpapi.New(api); err == nil {
			h.set(handler)
		}
	}
	if err != nil {
		cancel() // stops the HTTP server
		return errors.Join(err, group.Wait())
	}
	p.logger.Info("dropoff is ready", "url", m.URL(), "roles", m.roles.String())
	close(m.ready)
	return group.Wait()
}

// startRoles starts each role the process runs, and returns the API that
// serves them: one literal, each field from the role that provides it.
func (p *process) startRoles(ctx context.Context) (httpapi.Config, error) {
	var (
		cmds    commandAPI
		wk      workerRole
		proj    projectorRole
		queries store.Queries
		err     error
	)
	if p.roles.command {
		if cmds, err = startCommandAPI(ctx, p); err != nil {
			return httpapi.Config{}, err
		}
	}
	if p.roles.worker {
		if wk, err = startWorker(ctx, p); err != nil {
			return httpapi.Config{}, err
		}
	}
	if p.roles.projector {
		if proj, err = startProjector(ctx, p); err != nil {
			return httpapi.Config{}, err
		}
	}
	if p.roles.query {
		if queries, err = p.projectionDB(ctx); err != nil {
			return httpapi.Config{}, err
		}
		if err = startLiveTail(ctx, p, queries); err != nil {
			return httpapi.Config{}, err
		}
	}
	var feed store.FeedLag
	if p.roles.query {
		if feed, err = p.lagFeed(ctx); err != nil {
			return httpapi.Config{}, err
		}
	}
	tokens, err := verifier(p.cfg)
	if err != nil {
		return httpapi.Config{}, err
	}
	return httpapi.Config{
		Sender:        cmds.sender,
		Sink:          cmds.sink,
		Queries:       queries,
		Feed:          feed,
		DeadLetters:   wk.deadLetters, // the worker's: the role that may receive from the queue
		Backlog:       cmds.backlog,
		MaxBacklog:    int64(p.cfg.MaxBacklog),
		MaxBacklogAge: p.cfg.MaxBacklogAge,
		Auth:          tokens,
		Roles:         httpapi.Roles{Send: p.cfg.AuthRoleSend, Read: p.cfg.AuthRoleRead, Admin: p.cfg.AuthRoleAdmin},
		OperationTTL:  p.cfg.QueueTTL,
		MaxInFlight:   p.cfg.MaxInFlight,
		Ready:         slices.Concat(p.ready, cmds.ready, wk.ready, proj.ready),
		Live:          p.hub,
		Lab:           labControls(wk, proj),
		ListenAddr:    p.listen,
		LabForAdmins:  p.cfg.LabForAdmins,
		Registry:      p.reg,
		Logger:        p.logger,

		TracerProvider: p.tracing.Provider,
		Propagator:     p.tracing.Propagator,
		RequestDetail:  p.tracing.Exporting,
	}, nil
}

// switchHandler serves the handler set last: httpapi.Starting while the
// roles start, then the real one.
type switchHandler struct{ h atomic.Pointer[http.Handler] }

func (s *switchHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// serveHTTP serves h on ln until ctx is done, then shuts the server down,
// letting requests in flight finish within the shutdown timeout.
func (p *process) serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, r roles) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	p.logger.Info("dropoff is listening", "url", "http://"+ln.Addr().String(), "roles", r.String())
	p.group.Go(func() error {
		if err := srv.Serve(httpapi.ProblemListener(ln)); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	p.group.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.ShutdownTimeout)
		defer cancel()
		p.logger.Info("shutting down")
		if err := srv.Shutdown(sctx); err != nil {
			// A client still sending (or one that never finishes reading) must
			// not hold the shutdown: past the timeout its connection is closed.
			// It got no answer, so it retries; nothing was accepted for it.
			p.logger.Warn("connections still busy at the shutdown timeout; closing them",
				"shutdown_timeout", p.cfg.ShutdownTimeout.String(), "error", err)
			if err := srv.Close(); err != nil {
				return fmt.Errorf("close http: %w", err)
			}
		}
		return nil
	})
}
