package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/httpapi"
)

// roles says which of the four roles a process runs.
type roles struct{ command, worker, projector, query bool }

func (r roles) String() string {
	s := ""
	for _, x := range []struct {
		on   bool
		name string
	}{{r.command, "command-api"}, {r.worker, "worker"}, {r.projector, "projector"}, {r.query, "query-api"}} {
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
	logger  *slog.Logger
	reg     *prometheus.Registry
	http    httpapi.Config
	group   *errgroup.Group
	closers []func() error

	q queue
	w writeDB
	p projectionDB
}

func (p *process) queue(ctx context.Context) (queue, error) {
	if p.q == nil {
		q, closeQ, err := openQueue(ctx, p.cfg, p.logger, p.reg)
		if err != nil {
			return nil, err
		}
		p.q, p.closers = q, append(p.closers, closeQ)
		if pinger, ok := q.(interface{ Ping(context.Context) error }); ok {
			p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "queue", Check: pinger.Ping})
		}
	}
	return p.q, nil
}

func (p *process) writeDB(ctx context.Context) (writeDB, error) {
	if p.w == nil {
		w, err := openWriteDB(ctx, p.cfg, p.logger)
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
		db, err := openProjectionDB(ctx, p.cfg, p.logger)
		if err != nil {
			return nil, err
		}
		p.p, p.closers = db, append(p.closers, db.Close)
		p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "read-db", Check: db.Ping})
	}
	return p.p, nil
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
func start(ctx context.Context, c config, logger *slog.Logger, r roles) (err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	group, gctx := errgroup.WithContext(ctx)
	p := &process{cfg: c, logger: logger, reg: reg, group: group,
		http: httpapi.Config{Registry: reg, Logger: logger, OperationTTL: c.QueueTTL, AdminToken: c.AdminToken}}
	defer func() { err = errors.Join(err, p.close()) }()
	if c.Mode == modeSync {
		r.worker = false // the command API applies commands itself (sync.go)
	}

	for _, role := range []struct {
		on    bool
		start func(context.Context, *process) error
	}{{r.command, startCommandAPI}, {r.worker, startWorker}, {r.projector, startProjector}, {r.query, startQueryAPI}} {
		if !role.on {
			continue
		}
		if err := role.start(gctx, p); err != nil {
			return err
		}
	}
	if err := p.serveHTTP(gctx, r); err != nil {
		return err
	}
	return group.Wait()
}

// serveHTTP listens on the configured address and serves the routes the roles
// enabled, plus /healthz, /readyz and /metrics, until ctx is done.
func (p *process) serveHTTP(ctx context.Context, r roles) error {
	handler, err := httpapi.New(p.http)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", p.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", p.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	p.logger.Info("dropoff is listening", "url", "http://"+ln.Addr().String(), "roles", r.String())
	if p.cfg.onListen != nil {
		p.cfg.onListen("http://"+ln.Addr().String(), p)
	}
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
	return nil
}
