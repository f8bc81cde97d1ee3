package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/httpapi"
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
// once, the metrics registry, the HTTP configuration they add routes to, and
// the group of goroutines they run in.
type process struct {
	cfg     config
	roles   roles
	logger  *slog.Logger
	reg     *prometheus.Registry
	open    opener
	http    httpapi.Config
	group   *errgroup.Group
	closers []func() error
	waiting atomic.Value // string: what start-up waits for, for /readyz

	q queue
	w writeDB
	p projectionDB
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
		p.w, p.closers = withWriteDelay(w, p.cfg.InjectWriteDelay), append(p.closers, w.Close)
		p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "write-db", Check: w.Ping})
	}
	return p.w, nil
}

func (p *process) projectionDB(ctx context.Context) (projectionDB, error) {
	if p.p == nil {
		db, err := p.open.projectionDB(ctx, p.projectionDatabase())
		if err != nil {
			return nil, err
		}
		p.p, p.closers = db, append(p.closers, db.Close)
		p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "read-db", Check: db.Ping})
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

// close closes what was opened, last first.
func (p *process) close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	return errors.Join(errs...)
}

// start runs the given roles until ctx is done, then shuts them down: the HTTP
// server stops taking requests and finishes those in flight (a 202 is sent
// only once its command is stored), the worker settles what it is processing,
// and the stores are closed last.
//
// It listens first, before any store is opened: a taken port fails at once
// and creates nothing, and while the stores open (a SQL Server database may
// take a while: see openRetrying) the process is alive (/healthz) but not
// ready (/readyz says what it waits for).
func start(ctx context.Context, c config, logger *slog.Logger, r roles) (err error) {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	group, gctx := errgroup.WithContext(ctx)
	p := &process{cfg: c, roles: r, logger: logger, reg: reg, group: group,
		http: httpapi.Config{Registry: reg, Logger: logger, OperationTTL: c.QueueTTL, AdminToken: c.AdminToken}}
	p.waiting.Store("opening the stores")
	p.open = opener{c: c, auth: &azureAuth{c: c}, logger: logger, reg: reg, waiting: func(what string) {
		p.waiting.Store(cmp.Or(what, "opening the stores"))
	}}
	defer func() { err = errors.Join(err, p.close()) }()
	h := &switchHandler{}
	h.set(httpapi.Starting(func() string { return p.waiting.Load().(string) }))
	p.serveHTTP(gctx, ln, h, r)
	if err := p.startRoles(gctx, r); err != nil {
		cancel() // stops the HTTP server
		return errors.Join(err, group.Wait())
	}
	handler, err := httpapi.New(p.http)
	if err != nil {
		cancel()
		return errors.Join(err, group.Wait())
	}
	h.set(handler)
	p.logger.Info("dropoff is ready", "url", "http://"+ln.Addr().String(), "roles", r.String())
	if p.cfg.onListen != nil {
		p.cfg.onListen("http://"+ln.Addr().String(), p)
	}
	return group.Wait()
}

// startRoles starts each role the process runs, in order.
func (p *process) startRoles(ctx context.Context, r roles) error {
	for _, role := range []struct {
		on    bool
		start func(context.Context, *process) error
	}{{r.command, startCommandAPI}, {r.worker, startWorker}, {r.projector, startProjector}, {r.query, startQueryAPI}} {
		if !role.on {
			continue
		}
		if err := role.start(ctx, p); err != nil {
			return err
		}
	}
	return nil
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
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
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
			return fmt.Errorf("shut down http: %w", err)
		}
		return nil
	})
}
