package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dropoff-dev/dropoff/src/defaults"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Config says which routes to serve and with what. Each dependency left nil
// leaves its routes out.
type Config struct {
	// Sender enables the command routes (the command API): each checked
	// command is sent to the queue, and answered 202.
	Sender CommandSender
	// Sink, instead of Sender, is given each checked command: a command API
	// that applies commands another way (see CommandSink).
	Sink CommandSink
	// Queries enables the GET routes (the query API).
	Queries store.Queries
	// DeadLetters enables the admin dead-letter routes.
	DeadLetters DeadLetterAdmin
	// Live, when set, serves the live page's event stream (GET /v1/events),
	// and the page itself (GET /) with Queries; Lab, the lab's controls
	// (/admin/lab, see lab.go). Heartbeat is the stream's idle comment
	// (default 15s).
	Live      *live.Hub
	Lab       LabControls
	Heartbeat time.Duration
	// ListenAddr is where the server listens: the lab answers only when it is
	// a loopback address (labAllowed in lab.go). nil: the lab is off.
	ListenAddr net.Addr
	// AdminToken is the bearer token admin routes require; empty: admin
	// routes answer only to loopback clients.
	AdminToken string
	// OperationTTL is how long an accepted command may wait on the queue (the
	// queue's time to live). Commands are sent with it, and an unrecorded
	// operation older than it is reported as not found. Default 24h.
	OperationTTL time.Duration
	// MaxInFlight bounds the requests answered at once; past it a request
	// gets 503 with Retry-After (the probes always pass). Default 1024.
	MaxInFlight int
	// Ready are the checks /readyz runs; ReadyTimeout bounds them (default 2s).
	Ready        []ReadyCheck
	ReadyTimeout time.Duration
	// Registry serves /metrics and holds the request metrics; nil: neither.
	Registry *prometheus.Registry
	// Logger logs one line per request (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); NewID makes operation ids (nil:
	// operation.NewID).
	Now   func() time.Time
	NewID func() (string, error)
}

// Defaults.
const (
	DefaultOperationTTL = 24 * time.Hour
	DefaultReadyTimeout = 2 * time.Second
	DefaultMaxInFlight  = 1024
)

func (cfg Config) withDefaults() (Config, error) {
	err := defaults.Fill("httpapi",
		defaults.Of("MaxInFlight", &cfg.MaxInFlight, DefaultMaxInFlight),
		defaults.Of("OperationTTL", &cfg.OperationTTL, DefaultOperationTTL),
		defaults.Of("ReadyTimeout", &cfg.ReadyTimeout, DefaultReadyTimeout),
		defaults.Of("Heartbeat", &cfg.Heartbeat, DefaultHeartbeat))
	if err != nil {
		return cfg, err
	}
	if cfg.Sender != nil && cfg.Sink != nil {
		return cfg, errors.New("httpapi: set Sender or Sink, not both")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = operation.NewID
	}
	names := map[string]bool{}
	for _, rc := range cfg.Ready {
		if rc.Name == "" || rc.Check == nil || names[rc.Name] {
			return cfg, fmt.Errorf("httpapi: ready check %q needs a unique name and a Check", rc.Name)
		}
		names[rc.Name] = true
	}
	return cfg, nil
}

// New builds the handler: the routes cfg enables, /healthz, /readyz, and
// /metrics when cfg.Registry is set.
func New(cfg Config) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var reg prometheus.Registerer
	if cfg.Registry != nil {
		reg = cfg.Registry
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}

	gin.SetMode(gin.ReleaseMode)    // no route dump on start-up, no debug warnings
	e := gin.New()                  // no default logger or recovery: ours are below
	e.HandleMethodNotAllowed = true // 405 with Allow instead of 404
	e.RedirectTrailingSlash = false // a wrong path is a 404 problem, not a redirect
	// Match on the raw path, unescaping each parameter, so that an id with an
	// encoded slash (a%2Fb) reaches the handler and gets a 400 naming the id.
	e.UseRawPath, e.UnescapePathValues = true, true
	e.ForwardedByClientIP = false // nothing here trusts X-Forwarded-For
	e.Use(observe(cfg.Logger, m), recoverer(cfg.Logger), limit(cfg.MaxInFlight))
	e.NoRoute(routeNotFound)
	e.NoMethod(methodNotAllowed)

	(&health{checks: cfg.Ready, timeout: cfg.ReadyTimeout, logger: cfg.Logger}).routes(e)
	if cfg.Registry != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	}
	if cfg.Sink == nil && cfg.Sender != nil {
		cfg.Sink = queueSink{sender: cfg.Sender, ttl: cfg.OperationTTL}
	}
	if cfg.Sink != nil {
		(&commands{sink: cfg.Sink, now: cfg.Now, newID: cfg.NewID, metrics: m}).routes(e)
	}
	if cfg.Queries != nil {
		(&queries{q: cfg.Queries, ttl: cfg.OperationTTL, now: cfg.Now}).routes(e)
	}
	if cfg.DeadLetters != nil {
		(&admin{dl: cfg.DeadLetters, token: cfg.AdminToken}).routes(e)
	}
	livePage(e, cfg)
	return headAsGet{e}, nil
}

// headAsGet answers HEAD wherever GET works (RFC 9110, 9.3.2): a HEAD is
// served as the GET it asks about, and the server sends the status and
// headers without the body (net/http drops the writes of a HEAD response).
// GET handlers change nothing, so this is safe.
type headAsGet struct{ h http.Handler }

func (x headAsGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(context.WithValue(r.Context(), headRequest{}, true)) // a stream must end (events.go)
		r.Method = http.MethodGet
	}
	x.h.ServeHTTP(w, r)
}
