package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/dropoff-dev/dropoff/src/internal/cputime"
	"github.com/dropoff-dev/dropoff/src/load"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// loadFlags are the settings of dropoff load.
type loadFlags struct {
	target, mix, jsonFile, mode string
	cpuProfile, serverProfile   string
	compare, inProcess          bool
	cfg                         load.Config
	delay                       time.Duration
}

func parseLoadFlags(args []string, stderr io.Writer) (loadFlags, error) {
	var f loadFlags
	fs := flag.NewFlagSet("dropoff load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.target, "target", "", "base URL of a running Dropoff; empty: start one, in a process of its own, on embedded stores in a temporary directory")
	fs.BoolVar(&f.inProcess, "in-process", false, "start the Dropoff to drive in this process instead of its own (it then shares the generator's CPU, and latencies read high)")
	fs.DurationVar(&f.cfg.Duration, "duration", 10*time.Second, "how long to send commands")
	fs.Float64Var(&f.cfg.Rate, "rate", 0, "commands per second on a fixed schedule (open loop); 0: closed loop")
	fs.IntVar(&f.cfg.Concurrency, "concurrency", 32, "senders (closed loop), or most requests in flight (open loop)")
	fs.IntVar(&f.cfg.Shipments, "shipments", 200, "shipments the commands are spread over")
	fs.StringVar(&f.mix, "mix", load.DefaultMix, "relative weights of put, patch, delete, fail (a command meant to fail) and invalid (must get a 4xx)")
	fs.IntVar(&f.cfg.Watchers, "watchers", 4, "watchers polling sampled operations until they are visible")
	fs.DurationVar(&f.cfg.PollInterval, "poll", 2*time.Millisecond, "how often a watcher polls")
	fs.DurationVar(&f.cfg.DrainTimeout, "drain-timeout", 2*time.Minute, "how long to wait for the system to catch up before verifying")
	fs.StringVar(&f.jsonFile, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&f.mode, "mode", modeAsync, "in-process system: async or sync (the synchronous baseline); with --target: what the target runs")
	fs.DurationVar(&f.delay, "inject-write-delay", 0, "in-process system: wait this long before every write transaction")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the generator, and with --in-process the system) to this file")
	fs.StringVar(&f.serverProfile, "server-cpuprofile", "", "write a CPU profile of the server this starts in a process of its own (the server alone) to this file")
	fs.BoolVar(&f.compare, "compare", false, "run async and sync in-process at write delays 0, 5, 20 and 50ms and print them side by side (no verification)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if f.cfg.Mix, err = load.ParseMix(f.mix); err != nil {
		return f, err
	}
	if f.mode != modeAsync && f.mode != modeSync {
		return f, fmt.Errorf("mode %q: want %s or %s", f.mode, modeAsync, modeSync)
	}
	if f.compare && f.target != "" {
		return f, errors.New("--compare starts its own systems; it does not take --target")
	}
	if f.inProcess && f.target != "" {
		return f, errors.New("--in-process starts a system; it does not take --target")
	}
	if f.serverProfile != "" && (f.inProcess || f.compare || f.target != "") {
		return f, errors.New("--server-cpuprofile profiles the server started in a process of its own; with --in-process use --cpuprofile, with --target the server's own --cpuprofile")
	}
	if f.serverProfile != "" && runtime.GOOS == "windows" {
		return f, errors.New("--server-cpuprofile needs the server to stop gracefully, and Windows cannot interrupt another process; run dropoff serve --cpuprofile FILE and dropoff load --target")
	}
	f.cfg.Sync = f.mode == modeSync
	return f, nil
}

// runLoad is dropoff load: drive a Dropoff, report, and fail when the run
// found anything lost, duplicated, out of order or otherwise wrong.
func runLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, err := parseLoadFlags(args, stderr)
	if err != nil {
		return err
	}
	if isTerminal(stdout) {
		f.cfg.Progress = stdout
	}
	// A token for a Dropoff that checks them, from the environment only: a
	// flag's value would show in the process list.
	f.cfg.Token = getenv("DROPOFF_TOKEN")
	tuneGC(getenv)
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if f.compare {
		return runCompare(ctx, f, getenv, stdout, stderr)
	}
	var rep load.Report
	switch {
	case f.target != "":
		f.cfg.Target = f.target
		rep, err = load.Run(ctx, f.cfg)
	case f.inProcess:
		fmt.Fprintln(stderr, "dropoff load: --in-process: the system shares this process's CPU with the generator; latencies read high")
		rep, err = loadInProcess(ctx, f.cfg, f.mode, f.delay, getenv, stderr)
	default:
		rep, err = loadOwnProcess(ctx, f.cfg, f.mode, f.delay, f.serverProfile, stderr)
	}
	if err != nil {
		return err
	}
	rep.WriteTable(stdout)
	if err := writeJSONFile(f.jsonFile, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("load: the run found errors or inconsistencies (see the report)")
	}
	return nil
}

// runCompare runs both modes under the same load at several write delays.
func runCompare(ctx context.Context, f loadFlags, getenv func(string) string, stdout, stderr io.Writer) error {
	f.cfg.SkipVerify = true
	f.cfg.Seed = uint64(time.Now().UnixNano()) // one seed: both modes get the same commands
	var rows []load.CompareRow
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		row := load.CompareRow{Delay: d}
		for _, mode := range []string{modeAsync, modeSync} {
			fmt.Fprintf(stderr, "compare: %s, write delay %s, %s\n", mode, d, f.cfg.Duration)
			cfg := f.cfg
			cfg.Sync = mode == modeSync
			rep, err := loadInProcess(ctx, cfg, mode, d, getenv, stderr)
			if err != nil {
				return fmt.Errorf("compare %s at %s: %w", mode, d, err)
			}
			if mode == modeSync {
				row.Sync = rep
			} else {
				row.Async = rep
			}
		}
		rows = append(rows, row)
	}
	load.WriteCompare(stdout, rows)
	return writeJSONFile(f.jsonFile, rows)
}

// loadInProcess starts all roles on embedded stores in a temporary
// directory, in this process, runs the load against them, and shuts them
// down. The run is observed as one in a process of its own is
// (observeServer): over HTTP, and through the SQLite files.
func loadInProcess(ctx context.Context, cfg load.Config, mode string, delay time.Duration, getenv func(string) string, stderr io.Writer) (rep load.Report, err error) {
	dir, err := os.MkdirTemp("", "dropoff-load-")
	if err != nil {
		return rep, fmt.Errorf("create temporary directory: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()

	// The environment still tunes the system (DROPOFF_WORKER_SESSIONS, ...),
	// but it always runs embedded, here, on a free port.
	c, err := parseConfig("serve", nil, getenv, stderr)
	if err != nil {
		return rep, err
	}
	c.Addr, c.DataDir, c.Mode, c.InjectWriteDelay = "127.0.0.1:0", dir, mode, delay
	c.ServiceBusNamespace, c.ServiceBusConnectionString, c.WriteDB, c.ReadDB = "", "", "", ""
	c.LogLevel, c.ShutdownTimeout = "warn", 10*time.Second
	cfg.Server = "this process, with the generator (--in-process)"

	sctx, stop := context.WithCancel(ctx)
	m := newMain(c, newLogger(c, stderr), rolesOf("serve", mode), telemetry.Tracing{})
	if err := m.Open(sctx); err != nil {
		stop()
		return rep, fmt.Errorf("start in-process dropoff: %w", err)
	}
	defer func() {
		stop()
		if serr := m.Wait(); serr != nil && !errors.Is(serr, context.Canceled) {
			err = errors.Join(err, fmt.Errorf("in-process dropoff: %w", serr))
		}
	}()
	select {
	case <-m.Ready():
	case <-m.Done():
		return rep, fmt.Errorf("start in-process dropoff: %w", m.Wait())
	}
	cfg.Target = m.URL()
	return observeServer(ctx, cfg, dir, cputime.Used)
}

// startCPUProfile profiles this process until the returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

// isTerminal reports whether w is a terminal, for the live progress line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeJSONFile(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
