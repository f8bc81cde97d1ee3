package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/defaults"
	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// The Queue implements the whole bus contract.
var (
	_ bus.Sender      = (*Queue)(nil)
	_ bus.Receiver    = (*Queue)(nil)
	_ bus.DeadLetters = (*Queue)(nil)
)

// Config tunes a Queue. Zero values take the defaults shown, which are Service
// Bus's own defaults.
type Config struct {
	// MaxDeliveryCount is how often a message may be delivered; an abandoned
	// message whose count has reached it is dead-lettered instead. Default 10.
	MaxDeliveryCount int
	// LockDuration is how long a session lock lasts unless renewed. Default 30s.
	LockDuration time.Duration
	// DuplicateWindow is how long a message id is remembered. Default 10m.
	DuplicateWindow time.Duration
	// DefaultTimeToLive applies to messages sent with no TimeToLive, and caps
	// the ones sent with a longer one. Default 24h.
	DefaultTimeToLive time.Duration
	// DeadLetterOnExpiration: expired messages go to the dead-letter queue
	// (true, the default when nil) or are dropped (false).
	DeadLetterOnExpiration *bool
	// Prefetch is how many of a session's messages AcceptNextSession
	// delivers with the lock, in the same transaction; the first Receive
	// hands them over. Default 32 (the worker's batch); -1 delivers none.
	Prefetch int
	// PollInterval is how often the Queue looks for changes made by other
	// processes on the same file. Default 50ms.
	PollInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives warnings (a failed lock renewal, a failed sweep).
	// Default: discard.
	Logger *slog.Logger
	// Registerer receives the queue's metrics. Default: none.
	Registerer prometheus.Registerer
}

// withDefaults fills the zero fields and rejects impossible values.
func (c Config) withDefaults() (Config, error) {
	err := defaults.Fill("sqlitebus",
		defaults.Of("LockDuration", &c.LockDuration, 30*time.Second),
		defaults.Of("DuplicateWindow", &c.DuplicateWindow, 10*time.Minute),
		defaults.Of("DefaultTimeToLive", &c.DefaultTimeToLive, 24*time.Hour),
		defaults.Of("PollInterval", &c.PollInterval, 50*time.Millisecond),
		defaults.Of("MaxDeliveryCount", &c.MaxDeliveryCount, 10))
	if err != nil {
		return c, err
	}
	switch {
	case c.Prefetch == 0:
		c.Prefetch = 32
	case c.Prefetch < -1:
		return c, fmt.Errorf("sqlitebus: Prefetch %d: want -1 (none), 0 (the default) or more", c.Prefetch)
	}
	if c.DeadLetterOnExpiration == nil {
		c.DeadLetterOnExpiration = new(true)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Queue is a durable session queue in one SQLite file. It is safe for
// concurrent use. Close it when done.
type Queue struct {
	cfg     Config
	db      *sql.DB
	wconn   *sql.Conn // the writer's own connection; no one else writes
	st      *statements
	metrics *metrics
	notify  *notifier

	writer *groupcommit.Writer[*batch] // runs every write (writer.go)
	stop   <-chan struct{}             // closed by Close: the writer and every renewal end
	// expiredLookAt is when an accept next looks for sessions whose lock ran
	// out (accept.go); only the writer uses it.
	expiredLookAt int64

	mu      sync.Mutex // guards closed and wg.Add, so nothing starts after Close
	closed  bool
	wg      sync.WaitGroup // the sessions' renewal goroutines
	commits atomic.Int64

	path     string
	damaged  atomic.Pointer[error] // set once the file is found damaged (damage.go)
	intactMu sync.Mutex
	intactAt time.Time // when quick_check last passed
}

// Open opens (creating if needed) the queue stored in the SQLite file at
// path, applies its migrations and starts its writer.
func Open(path string, cfg Config) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("sqlitebus: register metrics: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlitebus: open %s: %w", path, err)
	}
	if err := checkIntact(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitebus: open %s: %w", path, err)
	}
	q := &Queue{cfg: cfg, db: db, metrics: m, notify: newNotifier(), path: path, intactAt: time.Now()}
	err = q.init(context.Background())
	if err == nil {
		err = q.startWriter()
	}

	if err != nil {
		if q.st != nil {
			q.st.close()
		}
		if q.wconn != nil {
			q.wconn.Close()
		}
		db.Close()
		return nil, fmt.Errorf("sqlitebus: open %s: %w", path, err)
	}
	if cfg.Registerer != nil {
		if err := registerDepth(cfg.Registerer, q); err != nil {
			return nil, errors.Join(fmt.Errorf("sqlitebus: open %s: %w", path, err), q.Close())
		}
	}
	return q, nil
}

// errDamaged: the file is not a sound SQLite database.
var errDamaged = errors.New("the file is damaged; restore it from a backup, or move it away to start " +
	"with an empty queue (the messages in it are then lost)")

// checkIntact reads every page of the file once (PRAGMA quick_check), so
// that a damaged queue fails to open, naming the file, rather than opening,
// answering ready, and failing every send. A queue's file stays small (its
// messages leave it, and compact gives the pages back), so this is quick.
func checkIntact(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(3)")
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return fmt.Errorf("%w: %w", errDamaged, err)
		}
		problems = append(problems, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("%w: %s", errDamaged, strings.Join(problems, "; "))
	}
	return nil
}

// incrementalVacuum puts the file in incremental auto-vacuum mode, so that
// compact can give the pages of completed messages back: a queue's file
// otherwise stays at its largest backlog's size for good. A file with
// anything in it (its WAL header, or the tables of an older version) takes
// the mode only through VACUUM, which needs the file to itself; if another
// process has it open, a later open tries again.
func (q *Queue) incrementalVacuum(ctx context.Context) error {
	var mode int
	if err := q.wconn.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == 2 {
		return nil
	}
	if _, err := q.wconn.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := q.wconn.ExecContext(ctx, "VACUUM"); err != nil {
		q.cfg.Logger.Warn("sqlitebus: could not switch the file to incremental auto-vacuum; it will not shrink until a later open manages it", "error", err)
	}
	return nil
}

// compact gives free pages back and checkpoints the WAL, so the file
// shrinks when its backlog does. The writer runs it between batches.
func (q *Queue) compact() {
	ctx := context.Background()
	// At most 2,000 pages (8 MiB) a minute: the writer runs it between
	// batches, and a long vacuum would hold every send up.
	for _, pragma := range []string{"PRAGMA incremental_vacuum(2000)", "PRAGMA wal_checkpoint(PASSIVE)"} {
		if _, err := q.wconn.ExecContext(ctx, pragma); err != nil {
			q.cfg.Logger.Warn("sqlitebus: compact", "pragma", pragma, "error", err)
			return
		}
	}
}

// dsn asks for what durability and sharing need: WAL (readers do not block
// the writer, several processes share the file), synchronous=FULL (a commit
// is on disk when it returns), a busy timeout (wait for another process's
// write instead of failing) and BEGIN IMMEDIATE (take the write lock at begin,
// so two writers never deadlock upgrading a read lock).
func dsn(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(5000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "journal_size_limit(67108864)") // the WAL is cut back after a burst
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// init migrates the schema, takes the writer's connection and prepares the
// statements.
func (q *Queue) init(ctx context.Context) error {
	q.db.SetMaxOpenConns(4) // the writer's, and a few for readers
	conn, err := q.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	q.wconn = conn
	if err := q.incrementalVacuum(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, conn); err != nil {
		return err
	}
	q.st, err = prepare(ctx, q.db)
	return err
}

// Settings reports the queue's configuration.
func (q *Queue) Settings() bus.Settings {
	return bus.Settings{
		MaxDeliveryCount:       q.cfg.MaxDeliveryCount,
		LockDuration:           q.cfg.LockDuration,
		DuplicateWindow:        q.cfg.DuplicateWindow,
		DefaultTimeToLive:      q.cfg.DefaultTimeToLive,
		DeadLetterOnExpiration: *q.cfg.DeadLetterOnExpiration,
	}
}

// Pacing is how a worker should pace its sessions on the embedded queue,
// where an accept or a receive is a read of a local file: release a session
// idle for 2ms (waiting on a drained session costs no transaction, only the
// slot, and taking a session again costs one), hand a busy one back after
// 1s, and wait for a session up to 5s at a time. With commands spread over
// many shipments nearly every command is a session of its own, and the idle
// hold is what a slot spends on each (docs/performance.md).
func (q *Queue) Pacing() bus.Pacing {
	return bus.Pacing{AcceptTimeout: 5 * time.Second, IdleTimeout: 2 * time.Millisecond, MaxSessionHold: time.Second}
}

// PingSend and PingReceive are the readiness checks of the roles that send
// and receive (the Service Bus adapter's differ, since there each role holds
// only its own right). Here both directions go through the same file, so
// both check that it can be read.
func (q *Queue) PingSend(ctx context.Context) error { return q.ping(ctx) }

// PingReceive: see PingSend.
func (q *Queue) PingReceive(ctx context.Context) error { return q.ping(ctx) }

func (q *Queue) ping(ctx context.Context) error {
	if q.isClosed() {
		return bus.ErrClosed
	}
	var n int
	if err := q.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return q.noteDamage(fmt.Errorf("sqlitebus: ping: %w", err))
	}
	return q.checkDamage(ctx)
}

// Commits returns how many write transactions this Queue has committed. Each
// is one fsync; dividing by the operations done shows the group commit at work.
func (q *Queue) Commits() int64 { return q.commits.Load() }

// Close lets the releases of sessions already closed finish, stops the
// writer and every session's lock renewal, waits for them and closes the
// file. Sessions still open are not released: like a crashed process's,
// their locks run out after LockDuration. Later calls return bus.ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	q.writer.Close() // lets the submitted releases finish first, a bounded time
	q.wg.Wait()
	q.st.close()
	return errors.Join(q.wconn.Close(), q.db.Close())
}

func (q *Queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// goOwned runs f on a goroutine that Close waits for; false if the Queue is
// already closed.
func (q *Queue) goOwned(f func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		f()
	}()
	return true
}

// now is the queue's clock, in the Unix nanoseconds the tables store.
func (q *Queue) now() int64 { return q.cfg.Now().UnixNano() }
