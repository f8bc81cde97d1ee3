package httpapi

import (
	"cmp"
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
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/bus"
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
	// Feed, when this process can read the write database's change feed,
	// makes the projection's lag (GET /v1/stats, the Projection-Lag header)
	// true: measured against the feed now, not as the projector last saw it.
	Feed store.FeedLag
	// DeadLetters enables the admin dead-letter routes.
	DeadLetters DeadLetterAdmin
	// Auth, when set, checks the bearer token of every command, query and
	// admin route, and the app role each needs (auth.RoleSend, RoleRead,
	// RoleAdmin). Nil runs the API open, except the admin routes, which then
	// answer loopback clients only. The probes and /metrics are always open.
	Auth TokenVerifier
	// Roles names the app role each group of routes needs; an empty name is
	// the auth package's (auth.RoleSend, RoleRead, RoleAdmin).
	Roles Roles
	// Live, when set, serves the live page's event stream (GET /v1/events),
	// and the page itself (GET /) with Queries; Lab, the lab's controls
	// (/admin/lab, see lab.go). Heartbeat is the stream's idle comment
	// (default 15s).
	Live      *live.Hub
	Lab       LabControls
	Heartbeat time.Duration
	// ListenAddr is where the server listens: the lab answers only when it is
	// a loopback address (labAllowed in lab.go). nil: the lab is off.
	// LabForAdmins, with Auth, lets it answer a token holding the admin role
	// on any address too.
	ListenAddr   net.Addr
	LabForAdmins bool
	// OperationTTL is how long an accepted command may wait on the queue (the
	// queue's time to live). Commands are sent with it, and an unrecorded
	// operation older than it is reported as not found. Default 24h.
	OperationTTL time.Duration
	// Backlog, with MaxBacklog or MaxBacklogAge, sheds load: while the
	// queue holds MaxBacklog messages or more, or its oldest has waited
	// longer than MaxBacklogAge, a command gets 503 with Retry-After instead
	// of a place on the queue. The backlog is sampled every BacklogInterval
	// (default 1s), off the requests' path; while it cannot be read, nothing
	// is shed. Zero bounds shed nothing.
	Backlog         bus.BacklogReader
	MaxBacklog      int64
	MaxBacklogAge   time.Duration
	BacklogInterval time.Duration
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
	// TracerProvider starts a span for every request and every send to the
	// queue (nil: none); Propagator reads the caller's trace context from the
	// request and writes the send's into the message (nil: W3C trace context).
	// RequestDetail records each request's span with the HTTP semantic
	// conventions (otelhttp), work done for every request whether or not its
	// span is sampled; without it (a process that exports nothing) a request
	// only continues or starts its trace, so that its log lines and its
	// message still carry the ids (tracing.go).
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	RequestDetail  bool
	// Now is the clock (nil: time.Now); NewID makes operation ids (nil:
	// operation.NewID).
	Now   func() time.Time
	NewID func() (string, error)
}

// Roles are the app roles of the three groups of routes.
type Roles struct{ Send, Read, Admin string }

// Defaults.
const (
	DefaultOperationTTL = 24 * time.Hour
	DefaultReadyTimeout = 2 * time.Second
	DefaultMaxInFlight  = 1024
	// DefaultBacklogInterval is how often the backlog is sampled for shedding.
	DefaultBacklogInterval = time.Second
)

func (cfg Config) withDefaults() (Config, error) {
	err := defaults.Fill("httpapi",
		defaults.Of("MaxInFlight", &cfg.MaxInFlight, DefaultMaxInFlight),
		defaults.Of("OperationTTL", &cfg.OperationTTL, DefaultOperationTTL),
		defaults.Of("ReadyTimeout", &cfg.ReadyTimeout, DefaultReadyTimeout),
		defaults.Of("BacklogInterval", &cfg.BacklogInterval, DefaultBacklogInterval),
		defaults.Of("Heartbeat", &cfg.Heartbeat, DefaultHeartbeat))
	if err != nil {
		return cfg, err
	}
	if cfg.Sender != nil && cfg.Sink != nil {
		return cfg, errors.New("httpapi: set Sender or Sink, not both")
	}
	cfg.Roles.Send = cmp.Or(cfg.Roles.Send, auth.RoleSend)
	cfg.Roles.Read = cmp.Or(cfg.Roles.Read, auth.RoleRead)
	cfg.Roles.Admin = cmp.Or(cfg.Roles.Admin, auth.RoleAdmin)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = noop.NewTracerProvider()
	}
	if cfg.Propagator == nil {
		cfg.Propagator = propagation.TraceContext{}
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

// New builds the handler: the routes cfg enables, /healthz, /readyz,
// /openapi.yaml, and /metrics when cfg.Registry is set.
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
	e.Use(routeSpan, observe(cfg.Logger, m), recoverer(cfg.Logger), limit(cfg.MaxInFlight))
	e.NoRoute(routeNotFound)
	e.NoMethod(methodNotAllowed)

	(&health{checks: cfg.Ready, timeout: cfg.ReadyTimeout, logger: cfg.Logger}).routes(e)
	e.GET("/openapi.yaml", openAPI)
	if cfg.Registry != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	}
	if cfg.Sink == nil && cfg.Sender != nil {
		cfg.Sink = queueSink{sender: cfg.Sender, ttl: cfg.OperationTTL,
			tracer: cfg.TracerProvider.Tracer(instrumentation), propagator: cfg.Propagator}
	}
	if cfg.Sink != nil {
		var shed *shedder
		if cfg.Backlog != nil && (cfg.MaxBacklog > 0 || cfg.MaxBacklogAge > 0) {
			shed = newShedder(cfg.Backlog, cfg.MaxBacklog, cfg.MaxBacklogAge, cfg.BacklogInterval, cfg.Logger)
		}
		(&commands{sink: cfg.Sink, now: cfg.Now, newID: cfg.NewID, metrics: m, shed: shed}).routes(e.Group("", guard(cfg.Auth, cfg.Roles.Send)))
	}
	if cfg.Queries != nil {
		q := &queries{q: cfg.Queries, feed: cfg.Feed, ttl: cfg.OperationTTL, now: cfg.Now, logger: cfg.Logger}
		q.routes(e.Group("", guard(cfg.Auth, cfg.Roles.Read)))
		if reg != nil {
			if _, err := register[prometheus.Collector](reg, newLagCollector(q)); err != nil {
				return nil, err
			}
		}
	}
	if cfg.DeadLetters != nil {
		(&admin{dl: cfg.DeadLetters, guard: adminOnly(cfg.Auth, cfg.Roles.Admin)}).routes(e)
	}
	livePage(e, cfg)
	return newTraced(headAsGet{e}, cfg), nil
}

// headAsGet answers HEAD wherever GET works (RFC 9110, 9.3.2): a HEAD is
// served as the GET it asks about, and the server sends the status and
// headers without the body (net/http drops the writes of a HEAD response).
// GET handlers change nothing, so this is safe.
type headAsGet struct{ h http.Handler }

func (x headAsGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(context.WithValue(r.Context(), wasHead{}, true))
		r.Method = http.MethodGet
	}
	x.h.ServeHTTP(w, r)
}

// wasHead marks, in a request's context, a HEAD served as a GET: the
// metrics and the access log name the method the client sent, and an event
// stream ends after its headers (events.go).
type wasHead struct{}

// clientMethod is the method the client sent.
func clientMethod(r *http.Request) string {
	if head, _ := r.Context().Value(wasHead{}).(bool); head {
		return http.MethodHead
	}
	return r.Method
}
