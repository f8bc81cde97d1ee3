package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dropoff-dev/dropoff/src/load"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// loadOwnProcess starts Dropoff (this executable, all roles) in a process of
// its own on embedded stores in a temporary directory, runs the load against
// it over loopback, and stops it. The generator's CPU is then not the
// server's, and a profile or the process's own metrics show the server
// alone.
func loadOwnProcess(ctx context.Context, cfg load.Config, mode string, delay time.Duration, profile string, stderr io.Writer) (rep load.Report, err error) {
	dir, err := os.MkdirTemp("", "dropoff-load-")
	if err != nil {
		return rep, fmt.Errorf("create temporary directory: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	srv, err := startLoadServer(ctx, dir, mode, delay, profile, stderr)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()
	cfg.Target = srv.url
	cfg.Server = fmt.Sprintf("its own process (pid %d)", srv.cmd.Process.Pid)
	return observeServer(ctx, cfg, dir, func() time.Duration {
		return time.Duration(serverMetric(ctx, srv.url, "process_cpu_seconds_total") * float64(time.Second))
	})
}

// observeServer runs the load against the Dropoff at cfg.Target, whose
// embedded stores are in dir, and watches it from outside: this process
// opens the two SQLite files beside the server (SQLite lets processes share
// them) to read the feed's head and compare the projection with the write
// database, and reads the server's commit counters from its /metrics.
// serverCPU is the server's CPU time so far.
func observeServer(ctx context.Context, cfg load.Config, dir string, serverCPU func() time.Duration) (rep load.Report, err error) {
	w, err := sqlite.OpenWriteStore(ctx, filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		return rep, fmt.Errorf("open the server's write database: %w", err)
	}
	defer w.Close()
	p, err := sqlite.OpenProjection(ctx, filepath.Join(dir, "read.db"), sqlite.Config{})
	if err != nil {
		return rep, fmt.Errorf("open the server's projection: %w", err)
	}
	defer p.Close()

	cfg.Commits = func() int64 {
		return int64(serverMetric(ctx, cfg.Target, "dropoff_sqlitebus_commits_total", "dropoff_sqlite_commits_total"))
	}
	cfg.ServerCPU = serverCPU
	cfg.Applied = func() int64 {
		head, err := w.Head(ctx) // SQLite's feed positions are dense: one per applied command
		if err != nil {
			return 0
		}
		return head
	}
	cfg.CheckProjection = func(ctx context.Context) (int, error) { return compareProjection(ctx, w, p) }
	return load.Run(ctx, cfg)
}

// loadServer is the Dropoff that dropoff load started.
type loadServer struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startLoadServer runs `dropoff serve` on dir and a free loopback port, and
// waits until it is ready.
func startLoadServer(ctx context.Context, dir, mode string, delay time.Duration, profile string, stderr io.Writer) (*loadServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this executable: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		// A test binary would run its tests, not serve: the caller wants --in-process.
		return nil, errors.New("dropoff load: running inside a test binary, which cannot serve; use --in-process")
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--addr", addr, "--data-dir", dir, "--mode", mode,
		"--inject-write-delay", delay.String(), "--log-level", "warn", "--shutdown-timeout", "10s", "--cpuprofile", profile)
	cmd.Env = loadServerEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	s := &loadServer{cmd: cmd, url: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// loadServerEnv keeps the settings that tune the server (DROPOFF_WORKER_SESSIONS,
// say) and drops those that would take it off its embedded stores or its
// directory and port.
func loadServerEnv(env []string) []string {
	drop := []string{"DROPOFF_SERVICEBUS_", "DROPOFF_WRITE_DB=", "DROPOFF_READ_DB=", "DROPOFF_AZURE_AUTH=",
		"DROPOFF_DATA_DIR=", "DROPOFF_ADDR=", "DROPOFF_MODE=", "DROPOFF_INJECT_WRITE_DELAY=", "DROPOFF_LOG_LEVEL=",
		"DROPOFF_SHUTDOWN_TIMEOUT=", "AZURE_"}
	var out []string
next:
	for _, kv := range env {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// freePort is a loopback address no one listens on just now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200, the server exits, or limit
// passes.
func (s *loadServer) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("the server exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling a process we do not control
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server was not ready within %v", limit)
		}
	}
}

// stop asks the server to shut down (an interrupt, as Ctrl-C would) and
// waits; after 20s it kills it. Windows cannot interrupt another process:
// there the server is killed at once, which loses nothing the run has
// verified (it is committed) but writes no --server-cpuprofile.
func (s *loadServer) stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop the server: %w", err)
		}
		err := <-s.done
		s.done <- err
		return nil // killed on purpose: its exit status says nothing
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			return fmt.Errorf("the server: %w", err)
		}
		return nil
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("the server did not stop within 20s of the interrupt; killed it")
	}
}

// serverMetric sums the named counters of the server's /metrics; -1 if they
// cannot be read.
func serverMetric(ctx context.Context, base string, names ...string) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return -1
	}
	var total float64
	for _, name := range names {
		if f, ok := families[name]; ok {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
