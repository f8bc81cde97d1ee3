package load

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what load to apply to which Dropoff.
type Config struct {
	// Target is the base URL of the Dropoff to drive, such as
	// http://127.0.0.1:8080. Required.
	Target string
	// Duration is how long commands are sent (default 10s).
	Duration time.Duration
	// Rate > 0 sends that many commands a second on a fixed schedule (open
	// loop), by at most Concurrency requests at once; 0 sends from
	// Concurrency senders as fast as they are answered (closed loop).
	Rate        float64
	Concurrency int // default 32
	Shipments   int // default 200
	Mix         Mix // default DefaultMix
	// Sync says the target applies commands inline (the synchronous
	// baseline): it answers 200 with the result instead of 202.
	Sync bool
	// Watchers poll sampled operations every PollInterval until they are
	// terminal, and drain the run (default 4 and 2ms). PollBudget caps what
	// measuring costs the target: an operation is sampled only while the
	// watchers' GETs so far are at most PollBudget times the commands sent
	// (default 0.1: one GET per ten commands).
	Watchers     int
	PollInterval time.Duration
	PollBudget   float64
	// Server says where the target runs, for the report ("its own
	// process", say); empty: not known.
	Server string
	// DrainTimeout bounds the wait for the system to catch up, and for one
	// watched operation to become visible (default 2m).
	DrainTimeout time.Duration
	// SkipVerify ends the run when sending ends: no drain, no checks, no
	// accept-to-visible latency (for comparisons with a backlog that could
	// take minutes to drain).
	SkipVerify bool
	// Progress, when set, gets a progress line every second.
	Progress io.Writer
	// When the caller runs the system in-process: Commits returns the
	// SQLite commits of all its stores so far, Applied the commands applied
	// to the write store so far (its change feed's head), and
	// CheckProjection compares the projection with the write database,
	// returning how many shipments differ. Nil: n/a.
	Commits func() int64
	Applied func() int64
	// ServerCPU, when set, returns the CPU time the target's process has
	// used so far; the report divides what the run cost by the commands.
	ServerCPU       func() time.Duration
	CheckProjection func(ctx context.Context) (int, error)
	// RunID prefixes the shipment ids, so that runs against one system do
	// not mix (default: random). Seed seeds the generator (0: random).
	RunID string
	Seed  uint64
	// Client sends the requests (nil: one sized for Concurrency).
	Client *http.Client
	// Token, when set, is sent as a bearer token with every request: a
	// Dropoff that checks tokens needs one holding Commands.Send and
	// Data.Read.
	Token string
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Target == "" {
		return cfg, errors.New("load: a target URL is required")
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 32
	}
	if cfg.Shipments == 0 {
		cfg.Shipments = 200
	}
	if cfg.Mix.total() == 0 {
		cfg.Mix, _ = ParseMix(DefaultMix)
	}
	if cfg.Watchers == 0 {
		cfg.Watchers = 4
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 2 * time.Millisecond
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 2 * time.Minute
	}
	if cfg.PollBudget == 0 {
		cfg.PollBudget = 0.1
	}
	if cfg.PollBudget < 0 {
		return cfg, errors.New("load: PollBudget must not be negative")
	}
	if cfg.Duration < 0 || cfg.Rate < 0 || cfg.Concurrency < 0 || cfg.Shipments < 0 || cfg.Watchers < 0 {
		return cfg, errors.New("load: Duration, Rate, Concurrency, Shipments and Watchers must not be negative")
	}
	if cfg.RunID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.RunID = "load-" + hex.EncodeToString(b)
	}
	if cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
	if cfg.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency + 2*cfg.Watchers + 8
		cfg.Client = &http.Client{Transport: t, Timeout: 30 * time.Second}
	}
	if cfg.Token != "" {
		c := *cfg.Client
		c.Transport = bearer{token: cfg.Token, next: cmp.Or[http.RoundTripper](c.Transport, http.DefaultTransport)}
		cfg.Client = &c
	}
	return cfg, nil
}

// bearer adds Authorization: Bearer to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// runner is one run's state, shared by its goroutines.
type runner struct {
	cfg    Config
	c      *client
	models []*model
	// tainted marks shipments with a command of unknown fate (a request
	// that failed in transit may still have been accepted); they are not verified.
	tainted []atomic.Bool
	free    chan int // shipments with no command in flight
	watch   chan watchJob

	accept, visible                   recorder
	errs                              errorCounts
	notAccepted, unknownFate          atomic.Int64 // refused (surely not accepted); failed in transit (maybe)
	down                              outage
	sent, accepted, rejected, watched atomic.Int64
	polls                             atomic.Int64 // the watchers' GETs
	wrongOutcome                      atomic.Int64
}

// watchJob is an accepted operation to watch until it is terminal.
type watchJob struct {
	id       string
	shipment int // its index in runner.models
	applies  bool
	at       time.Time // when it was accepted
	due      time.Time // when to poll it next (zero: at once)
}

// Run applies the load, then (unless SkipVerify) drains and verifies, and
// reports. An error means the run could not be carried out; what went wrong
// in the system under load is in the Report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	r := &runner{cfg: cfg, c: &client{base: cfg.Target, http: cfg.Client},
		tainted: make([]atomic.Bool, cfg.Shipments), free: make(chan int, cfg.Shipments),
		watch: make(chan watchJob, cfg.Watchers*maxPending)}
	for i := range cfg.Shipments {
		r.models = append(r.models, &model{id: cfg.RunID + "-" + strconv.Itoa(i)})
		r.free <- i
	}
	rep := Report{Target: cfg.Target, Server: cfg.Server, Mix: cfg.Mix.String(), Shipments: cfg.Shipments, Mode: "async"}
	if cfg.Sync {
		rep.Mode = "sync"
	}
	rep.Loop = fmt.Sprintf("closed, %d senders", cfg.Concurrency)
	if cfg.Rate > 0 {
		rep.Loop = fmt.Sprintf("open, %g/s, at most %d in flight", cfg.Rate, cfg.Concurrency)
	}
	commits0, applied0 := counter(cfg.Commits), counter(cfg.Applied)
	var cpu0 time.Duration
	if cfg.ServerCPU != nil {
		cpu0 = cfg.ServerCPU()
	}

	start := time.Now()
	window, applied1, err := r.sendPhase(ctx, start)
	if err != nil {
		return Report{}, err
	}
	rep.fillSend(r, window)
	if cfg.ServerCPU != nil && rep.Accepted > 0 {
		// Over the send window only: the drain and the checks after it
		// (a GET per shipment) are the generator's work, not the system's.
		rep.ServerCPUPerCommand = ptr(float64((cfg.ServerCPU() - cpu0).Microseconds()) / float64(rep.Accepted))
	}
	if applied1 >= 0 && window > 0 {
		rep.AppliedPerSec = ptr(float64(applied1-applied0) / window.Seconds())
	}
	if !cfg.SkipVerify {
		// Every accepted command appends one feed entry, applied or failed.
		caughtUp, err := r.drain(ctx, applied0+rep.Accepted)
		if err != nil {
			return Report{}, err
		}
		rep.Drained = true
		rep.E2EPerSec = float64(rep.Accepted) / caughtUp.Sub(start).Seconds()
		rep.DrainSeconds = caughtUp.Sub(start.Add(window)).Seconds()
		if err := r.verify(ctx, &rep); err != nil {
			return Report{}, err
		}
	}
	rep.fillVisible(r)
	if c := counter(cfg.Commits); c >= 0 && rep.Accepted > 0 {
		rep.CommitsPerCommand = ptr(float64(c-commits0) / float64(rep.Accepted))
	}

	return rep, nil
}

// counter reads f, or -1 when there is none.
func counter(f func() int64) int64 {
	if f == nil {
		return -1
	}
	return f()
}

func ptr[T any](v T) *T { return &v }

// sendPhase sends commands until Duration has passed, with the watchers and
// the progress line running alongside; it returns how long sending took and
// the write store's commits when it ended (-1: unknown). Watchers finish the
// operations they hold (or stop at once with SkipVerify).
func (r *runner) sendPhase(ctx context.Context, start time.Time) (time.Duration, int64, error) {
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	var watchers sync.WaitGroup
	for range r.cfg.Watchers {
		watchers.Go(func() { r.watcher(wctx) })
	}
	sctx, stopSending := context.WithDeadline(ctx, start.Add(r.cfg.Duration))
	defer stopSending()
	var progress sync.WaitGroup
	if r.cfg.Progress != nil {
		progress.Go(func() { r.progress(sctx, start) })
	}
	if r.cfg.Rate > 0 {
		r.openLoop(ctx, sctx, start)
	} else {
		r.closedLoop(ctx, sctx)
	}
	window, applied := time.Since(start), counter(r.cfg.Applied)
	stopSending()
	progress.Wait()
	close(r.watch)
	if r.cfg.SkipVerify {
		stopWatching()
	}
	watchers.Wait()
	return window, applied, ctx.Err()
}

// closedLoop runs Concurrency senders, each sending its next command as soon
// as the last is answered, to whichever shipment is free.
func (r *runner) closedLoop(ctx, sctx context.Context) {
	var wg sync.WaitGroup
	for w := range r.cfg.Concurrency {
		rng := mrand.New(mrand.NewPCG(r.cfg.Seed, uint64(w)))
		wg.Go(func() {
			for {
				select {
				case i := <-r.free:
					if sctx.Err() == nil {
						r.one(ctx, i, rng, time.Now())
					}
					r.free <- i
				case <-sctx.Done():
					return
				}
				if sctx.Err() != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}

// openLoop schedules Rate commands a second and runs at most Concurrency of
// them at once. Latency counts from the scheduled time: a command that waits
// for a free sender or shipment is late, and the report shows it.
func (r *runner) openLoop(ctx, sctx context.Context, start time.Time) {
	due := make(chan time.Time, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range r.cfg.Concurrency {
		rng := mrand.New(mrand.NewPCG(r.cfg.Seed, uint64(w)))
		wg.Go(func() {
			for at := range due {
				select {
				case i := <-r.free:
					r.one(ctx, i, rng, at)
					r.free <- i
				case <-sctx.Done():
				}
			}
		})
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	t := time.NewTicker(min(interval, 10*time.Millisecond))
	defer t.Stop()
	next := start
	for sctx.Err() == nil {
		for now := time.Now(); !next.After(now); next = next.Add(interval) {
			select {
			case due <- next:
			case <-sctx.Done():
			}
		}
		select {
		case <-t.C:
		case <-sctx.Done():
		}
	}
	close(due)
	wg.Wait()
}
