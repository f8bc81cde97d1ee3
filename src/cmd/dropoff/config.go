package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// config is every setting of every role. It is filled from flags, each of
// which falls back to an environment variable and then to a default; this file
// is the only place that reads the environment.
type config struct {
	Addr            string
	DataDir         string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	MaxInFlight     int

	ServiceBusNamespace        string
	ServiceBusConnectionString string
	ServiceBusQueue            string
	// The queue's properties; zero means the adapter's (open.go): the
	// embedded queue's own, or the Service Bus queue as Dropoff deploys it.
	MaxDeliveryCount int
	LockDuration     time.Duration
	DuplicateWindow  time.Duration
	QueueTTL         time.Duration

	WriteDB string
	ReadDB  string
	// DBConns caps each SQL Server connection pool; zero sizes it for the
	// role (open.go).
	DBConns int

	// AzureAuth chooses how Dropoff authenticates to Azure (azure.go), and
	// AzureClientID names the user-assigned managed identity.
	AzureAuth     string
	AzureClientID string

	WorkerSessions int
	WorkerBatch    int
	// Zero means the bus adapter's pacing (bus.Pacing).
	WorkerIdleTimeout   time.Duration
	WorkerSessionHold   time.Duration
	WorkerAcceptTimeout time.Duration
	WorkerMaxOutage     time.Duration

	// Retention (retention.go): how long recorded operations (and their
	// idempotency keys) and applied feed entries are kept, and how often
	// they are trimmed.
	RetainOperations  time.Duration
	RetainFeed        time.Duration
	RetentionInterval time.Duration

	// Auth (auth.go): the bearer tokens the HTTP API accepts. With none set,
	// the API runs open, which a process listening beyond loopback refuses
	// unless AllowAnonymous says so.
	AuthTenantID   string
	AuthAudience   string
	AuthIssuer     string
	AuthJWKSURL    string
	AuthRoleSend   string
	AuthRoleRead   string
	AuthRoleAdmin  string
	AllowAnonymous bool
	// LabForAdmins lets the lab (live.go) answer, beyond loopback, a token
	// holding the admin role.
	LabForAdmins bool

	// Load shedding (commandapi.go): a command is refused with 503 while the
	// queue holds more than MaxBacklog messages or its oldest has waited
	// longer than MaxBacklogAge (zero: no bound).
	MaxBacklog    int
	MaxBacklogAge time.Duration

	// SessionLanes > 0 spreads shipments over that many sessions
	// (commandapi.go); SimulateBusRTT makes every bus operation wait its
	// round trips (simulate.Remote), for the capacity model.
	SessionLanes   int
	SimulateBusRTT time.Duration

	// Mode is async (the default: 202, applied by the worker) or sync (the
	// baseline: applied inside the request, 200 with the result; package baseline).
	Mode string
	// InjectWriteDelay slows every write transaction, in either mode (sync.go).
	InjectWriteDelay time.Duration
	// CPUProfile, when set, is where the process writes a CPU profile of
	// itself from start to shutdown (for go tool pprof).
	CPUProfile string
}

// setting is one flag with its environment variable, and the roles that
// read it (a deployment gives each role exactly the variables it reads).
type setting struct {
	name, env, usage string
	roles            roleSet
	// set defines the flag on fs, its default taken from envValue when set.
	set func(fs *flag.FlagSet, c *config, envValue string) error
}

// roleSet is a set of the four roles.
type roleSet uint8

const (
	roleCommand roleSet = 1 << iota
	roleWorker
	roleProjector
	roleQuery
	allRoles = roleCommand | roleWorker | roleProjector | roleQuery
)

// roleNames are the subcommands of the four roles, in the order help lists them.
var roleNames = []struct {
	role roleSet
	name string
}{{roleCommand, "command-api"}, {roleWorker, "worker"}, {roleProjector, "projector"}, {roleQuery, "query-api"}}

func (r roleSet) String() string {
	if r == allRoles {
		return "all roles"
	}
	var names []string
	for _, n := range roleNames {
		if r&n.role != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

func stringSetting(name, env string, roles roleSet, def, usage string, p func(*config) *string) setting {
	return setting{name, env, usage + defaultNote(def), roles, func(fs *flag.FlagSet, c *config, v string) error {
		if v == "" {
			v = def
		}
		fs.StringVar(p(c), name, v, usage)
		return nil
	}}
}

func intSetting(name, env string, roles roleSet, def int, usage string, p func(*config) *int) setting {
	return setting{name, env, usage + defaultNote(intNote(def)), roles, func(fs *flag.FlagSet, c *config, v string) error {
		n := def
		if v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("%s=%q: not an integer", env, v)
			}
		}
		fs.IntVar(p(c), name, n, usage)
		return nil
	}}
}

func boolSetting(name, env string, roles roleSet, usage string, p func(*config) *bool) setting {
	return setting{name, env, usage + " (default false)", roles, func(fs *flag.FlagSet, c *config, v string) error {
		b := false
		if v != "" {
			var err error
			if b, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("%s=%q: want true or false", env, v)
			}
		}
		fs.BoolVar(p(c), name, b, usage)
		return nil
	}}
}

func durationSetting(name, env string, roles roleSet, def time.Duration, usage string, p func(*config) *time.Duration) setting {
	return setting{name, env, usage + defaultNote(durationNote(def)), roles, func(fs *flag.FlagSet, c *config, v string) error {
		d := def
		if v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				return fmt.Errorf("%s=%q: not a duration (e.g. 30s, 5m)", env, v)
			}
		}
		fs.DurationVar(p(c), name, d, usage)
		return nil
	}}
}

func defaultNote(def string) string {
	if def == "" {
		return ""
	}
	return " (default " + def + ")"
}

// A zero number or duration means "decided elsewhere", which the usage says.
func intNote(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func durationNote(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// settings lists every flag. The help text is printed from it too.
var settings = []setting{
	stringSetting("addr", "DROPOFF_ADDR", allRoles, "127.0.0.1:8080", "HTTP listen address; port 0 picks a free port; a container needs 0.0.0.0:8080", func(c *config) *string { return &c.Addr }),
	stringSetting("data-dir", "DROPOFF_DATA_DIR", allRoles, "./data", "directory of the embedded stores (queue.db, write.db, read.db)", func(c *config) *string { return &c.DataDir }),
	stringSetting("log-level", "DROPOFF_LOG_LEVEL", allRoles, "info", "debug, info, warn or error", func(c *config) *string { return &c.LogLevel }),
	stringSetting("log-format", "DROPOFF_LOG_FORMAT", allRoles, "text", "text or json", func(c *config) *string { return &c.LogFormat }),
	intSetting("max-in-flight", "DROPOFF_MAX_IN_FLIGHT", allRoles, 1024, "HTTP requests answered at once; past it a request gets 503 with Retry-After (the probes always pass)", func(c *config) *int { return &c.MaxInFlight }),
	durationSetting("shutdown-timeout", "DROPOFF_SHUTDOWN_TIMEOUT", allRoles, 20*time.Second, "how long a shutdown may take to finish in-flight work", func(c *config) *time.Duration { return &c.ShutdownTimeout }),
	stringSetting("azure-auth", "DROPOFF_AZURE_AUTH", allRoles, authDefault, "how to authenticate to Azure: default-credential (azidentity's DefaultAzureCredential, developer logins included) or managed-identity (only the identity AZURE_CLIENT_ID names; never a developer login)", func(c *config) *string { return &c.AzureAuth }),
	stringSetting("azure-client-id", "AZURE_CLIENT_ID", allRoles, "", "client id of the user-assigned managed identity (Container Apps does not set it: the deployment does)", func(c *config) *string { return &c.AzureClientID }),
	stringSetting("servicebus-namespace", "DROPOFF_SERVICEBUS_NAMESPACE", roleCommand|roleWorker, "", "Azure Service Bus namespace (x.servicebus.windows.net), reached with an Entra ID token; empty: the embedded queue", func(c *config) *string { return &c.ServiceBusNamespace }),
	stringSetting("servicebus-connection-string", "DROPOFF_SERVICEBUS_CONNECTION_STRING", roleCommand|roleWorker, "", "Service Bus connection string (the emulator); prefer the environment variable", func(c *config) *string { return &c.ServiceBusConnectionString }),
	stringSetting("servicebus-queue", "DROPOFF_SERVICEBUS_QUEUE", roleCommand|roleWorker, "shipment-commands", "Service Bus queue (sessions enabled)", func(c *config) *string { return &c.ServiceBusQueue }),
	intSetting("max-delivery-count", "DROPOFF_MAX_DELIVERY_COUNT", roleCommand|roleWorker, 0, "deliveries before a message is dead-lettered (default 10; Service Bus: must match the queue's maxDeliveryCount)", func(c *config) *int { return &c.MaxDeliveryCount }),
	durationSetting("lock-duration", "DROPOFF_LOCK_DURATION", roleCommand|roleWorker, 0, "session lock duration (default: embedded queue 10s; Service Bus 1m, the deployed queue's lockDuration, which this must match)", func(c *config) *time.Duration { return &c.LockDuration }),
	durationSetting("queue-ttl", "DROPOFF_QUEUE_TTL", roleCommand|roleWorker|roleProjector|roleQuery, 24*time.Hour, "how long a command may wait on the queue before it is dead-lettered (Service Bus: the queue's defaultMessageTimeToLive)", func(c *config) *time.Duration { return &c.QueueTTL }),
	durationSetting("duplicate-window", "DROPOFF_DUPLICATE_WINDOW", roleCommand|roleWorker, 0, "how long the queue remembers message ids to drop duplicates (default 10m; Service Bus: the queue's own setting)", func(c *config) *time.Duration { return &c.DuplicateWindow }),
	stringSetting("write-db", "DROPOFF_WRITE_DB", roleWorker|roleProjector|roleQuery, "", "write database: sqlite:<path> or sqlserver://… (default sqlite:<data-dir>/write.db; the query API reads only its feed's head, for the projection's true lag: the embedded one beside an embedded projection, or the one set here)", func(c *config) *string { return &c.WriteDB }),
	stringSetting("read-db", "DROPOFF_READ_DB", roleProjector|roleQuery, "", "projection database: sqlite:<path> or sqlserver://… (default sqlite:<data-dir>/read.db)", func(c *config) *string { return &c.ReadDB }),
	intSetting("db-conns", "DROPOFF_DB_CONNS", roleWorker|roleProjector|roleQuery, 0, "connections each SQL Server pool keeps and may open (default: worker sessions + 4 for the worker, 4 for the projector, 32 for the query API); keep under the database tier's worker limit", func(c *config) *int { return &c.DBConns }),
	intSetting("worker-sessions", "DROPOFF_WORKER_SESSIONS", roleWorker, 64, "sessions (shipments) a worker processes at once", func(c *config) *int { return &c.WorkerSessions }),
	durationSetting("worker-idle-timeout", "DROPOFF_WORKER_IDLE_TIMEOUT", roleWorker, 0, "how long a worker keeps a session with no message before taking another shipment's (default: embedded queue 2ms, Service Bus 2s)", func(c *config) *time.Duration { return &c.WorkerIdleTimeout }),
	durationSetting("worker-session-hold", "DROPOFF_WORKER_SESSION_HOLD", roleWorker, 0, "how long a worker may keep a busy session before handing it back (default: embedded queue 1s, Service Bus 30s)", func(c *config) *time.Duration { return &c.WorkerSessionHold }),
	durationSetting("worker-accept-timeout", "DROPOFF_WORKER_ACCEPT_TIMEOUT", roleWorker, 0, "how long one wait for a session may last (default: embedded queue 5s, Service Bus 30s)", func(c *config) *time.Duration { return &c.WorkerAcceptTimeout }),
	durationSetting("worker-max-outage", "DROPOFF_WORKER_MAX_OUTAGE", roleWorker, 10*time.Minute, "how long a command waits in place, spending no delivery, while the write database is unavailable (down, failing over, locked, full); past it, the command is abandoned like any failure", func(c *config) *time.Duration { return &c.WorkerMaxOutage }),
	durationSetting("retain-operations", "DROPOFF_RETAIN_OPERATIONS", roleWorker|roleProjector, 7*24*time.Hour, "how long a recorded operation, and the idempotency key it came with, is kept (the worker's inbox; GET /v1/operations); at least queue-ttl + 10m, since a message still on the queue must find its operation", func(c *config) *time.Duration { return &c.RetainOperations }),
	durationSetting("retain-feed", "DROPOFF_RETAIN_FEED", roleProjector, 7*24*time.Hour, "how long a change-feed entry is kept after the projection has applied it (a projection restored from a backup that old can catch up)", func(c *config) *time.Duration { return &c.RetainFeed }),
	durationSetting("retention-interval", "DROPOFF_RETENTION_INTERVAL", roleWorker|roleProjector, time.Minute, "how often retention trims", func(c *config) *time.Duration { return &c.RetentionInterval }),
	intSetting("worker-batch", "DROPOFF_WORKER_BATCH", roleWorker, 32, "messages a worker receives from a session at a time", func(c *config) *int { return &c.WorkerBatch }),
	intSetting("session-lanes", "DROPOFF_SESSION_LANES", roleCommand, 0, "0: a session per shipment; N: shipments hashed onto N sessions (lanes), which amortises session accepts and costs head-of-line blocking within a lane (docs/adr/0002-lanes.md)", func(c *config) *int { return &c.SessionLanes }),
	intSetting("max-backlog", "DROPOFF_MAX_BACKLOG", roleCommand, 0, "shed load: answer commands 503 with Retry-After once this many wait on the queue (0: no bound; on Service Bus the identity needs the Manage right to read the count)", func(c *config) *int { return &c.MaxBacklog }),
	durationSetting("max-backlog-age", "DROPOFF_MAX_BACKLOG_AGE", roleCommand, 10*time.Minute, "shed load: answer commands 503 with Retry-After while the oldest command has waited longer than this (0: no bound; the embedded queue only, Service Bus does not report ages)", func(c *config) *time.Duration { return &c.MaxBacklogAge }),
	durationSetting("simulate-bus-rtt", "DROPOFF_SIMULATE_BUS_RTT", roleCommand|roleWorker, 0, "make every bus operation wait its network round trips of this length, as on Service Bus (the capacity model, docs/capacity.md; 0: none)", func(c *config) *time.Duration { return &c.SimulateBusRTT }),
	stringSetting("mode", "DROPOFF_MODE", roleCommand, modeAsync, "async (202, applied by the worker) or sync (applied in the request, 200 with the result: a baseline for comparison)", func(c *config) *string { return &c.Mode }),
	stringSetting("cpuprofile", "DROPOFF_CPUPROFILE", allRoles, "", "write a CPU profile of this process, from start to shutdown, to this file (go tool pprof; dropoff load --server-cpuprofile passes it to the server it starts)", func(c *config) *string { return &c.CPUProfile }),
	durationSetting("inject-write-delay", "DROPOFF_INJECT_WRITE_DELAY", roleCommand|roleWorker, 0, "wait this long before every write transaction, to simulate a slow database (0: none)", func(c *config) *time.Duration { return &c.InjectWriteDelay }),
	stringSetting("auth-tenant-id", "DROPOFF_AUTH_TENANT_ID", roleCommand|roleWorker|roleQuery, "", "Microsoft Entra tenant whose v2.0 access tokens the HTTP API accepts (sets auth-issuer and auth-jwks-url); empty, with no auth-issuer: no authentication", func(c *config) *string { return &c.AuthTenantID }),
	stringSetting("auth-audience", "DROPOFF_AUTH_AUDIENCE", roleCommand|roleWorker|roleQuery, "", "the audience a token must carry: the API app registration's application (client) id", func(c *config) *string { return &c.AuthAudience }),
	stringSetting("auth-issuer", "DROPOFF_AUTH_ISSUER", roleCommand|roleWorker|roleQuery, "", "token issuer, for an OpenID Connect issuer other than Entra ID (with auth-jwks-url)", func(c *config) *string { return &c.AuthIssuer }),
	stringSetting("auth-jwks-url", "DROPOFF_AUTH_JWKS_URL", roleCommand|roleWorker|roleQuery, "", "where the issuer publishes its signing keys (with auth-issuer)", func(c *config) *string { return &c.AuthJWKSURL }),
	stringSetting("auth-role-send", "DROPOFF_AUTH_ROLE_SEND", roleCommand, auth.RoleSend, "app role a token needs to send commands", func(c *config) *string { return &c.AuthRoleSend }),
	stringSetting("auth-role-read", "DROPOFF_AUTH_ROLE_READ", roleQuery, auth.RoleRead, "app role a token needs to read", func(c *config) *string { return &c.AuthRoleRead }),
	stringSetting("auth-role-admin", "DROPOFF_AUTH_ROLE_ADMIN", roleWorker, auth.RoleAdmin, "app role a token needs for the admin (dead-letter) API", func(c *config) *string { return &c.AuthRoleAdmin }),
	boolSetting("allow-anonymous", "DROPOFF_ALLOW_ANONYMOUS", roleCommand|roleQuery, "serve commands and queries with no authentication on a non-loopback address (on loopback they are open anyway); the admin API still answers loopback clients only", func(c *config) *bool { return &c.AllowAnonymous }),
	boolSetting("lab-for-admins", "DROPOFF_LAB_FOR_ADMINS", allRoles, "with authentication on, let the lab (break-it controls: pause, poison, burst) answer a token holding the admin role on any address; without it the lab answers only on a loopback listener, never in a deployment", func(c *config) *bool { return &c.LabForAdmins }),
}

// parseConfig reads flags for a subcommand, falling back to the environment.
func parseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dropoff "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "usage: dropoff %s [flags]; see dropoff help\n", cmd) }
	for _, s := range settings {
		if err := s.set(fs, &c, getenv(s.env)); err != nil {
			return c, err
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	if c.WorkerSessions < 1 {
		errs = append(errs, errors.New("worker-sessions must be at least 1"))
	}
	if c.WorkerIdleTimeout != 0 && c.WorkerIdleTimeout < time.Millisecond {
		errs = append(errs, errors.New("worker-idle-timeout must be at least 1ms"))
	}
	if c.WorkerSessionHold < 0 || c.WorkerAcceptTimeout < 0 || c.WorkerMaxOutage < 0 {
		errs = append(errs, errors.New("worker-session-hold, worker-accept-timeout and worker-max-outage must not be negative"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("max-in-flight must be at least 1"))
	}
	if c.DBConns < 0 {
		errs = append(errs, errors.New("db-conns must not be negative"))
	}
	if c.WorkerBatch < 1 {
		errs = append(errs, errors.New("worker-batch must be at least 1"))
	}
	if c.MaxDeliveryCount < 0 {
		errs = append(errs, errors.New("max-delivery-count must be at least 1"))
	}
	if c.LockDuration != 0 && c.LockDuration < time.Second {
		errs = append(errs, errors.New("lock-duration must be at least 1s"))
	}
	if c.DuplicateWindow != 0 && c.DuplicateWindow < 20*time.Second {
		errs = append(errs, errors.New("duplicate-window must be at least 20s"))
	}
	if err := checkAzureAuth(c); err != nil {
		errs = append(errs, err)
	}
	if err := checkAuth(c); err != nil {
		errs = append(errs, err)
	}
	if _, on := authConfig(c); c.LabForAdmins && !on {
		errs = append(errs, errors.New("lab-for-admins needs authentication (auth-tenant-id or auth-issuer): without it there is no admin role to check"))
	}
	if c.QueueTTL < time.Minute {
		errs = append(errs, errors.New("queue-ttl must be at least 1m"))
	}
	if floor := c.QueueTTL + retentionMargin; c.RetainOperations < floor {
		errs = append(errs, fmt.Errorf("retain-operations %v is under queue-ttl + %v (%v): a message still on the queue would no longer find its operation, and would be applied again", c.RetainOperations, retentionMargin, floor))
	}
	if c.RetainFeed < 0 || c.RetentionInterval < time.Second {
		errs = append(errs, errors.New("retain-feed must not be negative, and retention-interval must be at least 1s"))
	}
	if c.Mode != modeAsync && c.Mode != modeSync {
		errs = append(errs, fmt.Errorf("mode %q: want %s or %s", c.Mode, modeAsync, modeSync))
	}
	if c.InjectWriteDelay < 0 || c.SimulateBusRTT < 0 {
		errs = append(errs, errors.New("inject-write-delay and simulate-bus-rtt must not be negative"))
	}
	if c.MaxBacklog < 0 || c.MaxBacklogAge < 0 {
		errs = append(errs, errors.New("max-backlog and max-backlog-age must not be negative"))
	}
	if c.SessionLanes < 0 {
		errs = append(errs, errors.New("session-lanes must not be negative"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	// Every line logged within a span carries its trace_id and span_id.
	if c.LogFormat == "json" {
		return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(telemetry.LogHandler(slog.NewTextHandler(w, opts)))
}

// printHelp lists the subcommands and every flag with its environment variable.
func printHelp(w io.Writer) {
	fmt.Fprint(w, `Dropoff: asynchronous commands on a session queue, with CQRS read models.

usage: dropoff [subcommand] [flags]

subcommands:
  serve        all four roles in one process on one HTTP listener (the default)
  command-api  accepts PUT/PATCH/DELETE and puts commands on the queue
  worker       applies commands from the queue to the write database
  projector    follows the change feed into the projection database
  query-api    answers GETs from the projection database
  migrate      applies the database migrations and exits
  check        compares the projection with the write database, shipment by
               shipment, once the projector has caught up
  createdb     creates the SQL Server databases --write-db and --read-db name,
               on a development server (the devcontainer), if missing
  dbinit       prepares Azure SQL for a deployment: migrations, and a user per
               role's managed identity with only the rights it needs
  load         drives a Dropoff with commands and verifies the result; see dropoff load -h
  deadletters  list | show SEQ | resubmit SEQ | purge --yes: the admin API's dead
               letters, from a terminal; see dropoff deadletters -h
  lab          status | burst | poison SHIPMENT | pause, resume worker|projector |
               restart worker | slow DURATION: break a running Dropoff on purpose,
               for training (loopback only; the live page at / has the same
               controls); see dropoff lab -h
  help         this text

flags (each falls back to its environment variable):
`)
	for _, s := range settings {
		fmt.Fprintf(w, "  --%-30s %s [%s]\n  %-32s %s\n", s.name, s.env, s.roles, "", s.usage)
	}
	printDBInitHelp(w)
	printTracingHelp(w)
	fmt.Fprintln(w, strings.TrimSpace(`
With no Service Bus and no sqlserver:// URL set, everything runs on three
SQLite files in the data directory; several processes may share it.`))
}
