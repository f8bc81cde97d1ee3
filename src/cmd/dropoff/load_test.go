package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestLoadInProcess runs dropoff load briefly against a system it starts
// itself, in each mode, and checks the run verified clean.
func TestLoadInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system twice")
	}
	for _, mode := range []string{modeAsync, modeSync} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "load.json")
			var stdout, stderr bytes.Buffer
			args := []string{"load", "--in-process", "--mode", mode, "--duration", "2s", "--rate", "150", "--concurrency", "8",
				"--shipments", "20", "--drain-timeout", "20s", "--json", out}
			if err := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
				t.Fatalf("dropoff load: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("read report: %v", err)
			}
			var rep struct {
				Accepted          int64    `json:"accepted"`
				Rejected          int64    `json:"rejected"`
				Errors            int64    `json:"errors"`
				Lost              *int     `json:"lost"`
				Duplicated        *int     `json:"duplicated"`
				OutOfOrder        *int     `json:"out_of_order"`
				Verified          bool     `json:"verified"`
				CommitsPerCommand *float64 `json:"commits_per_command"`
				Projection        *int     `json:"projection_mismatches"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatalf("decode report: %v\n%s", err, b)
			}
			if rep.Accepted == 0 || rep.Rejected == 0 {
				t.Errorf("got %d accepted and %d rejected, want some of each", rep.Accepted, rep.Rejected)
			}
			if !rep.Verified || rep.Lost == nil || rep.Duplicated == nil || rep.OutOfOrder == nil {
				t.Fatalf("report is not verified or lacks lost/duplicated/out_of_order:\n%s", b)
			}
			if *rep.Lost != 0 || *rep.Duplicated != 0 || *rep.OutOfOrder != 0 || rep.Errors != 0 {
				t.Errorf("got lost %d, duplicated %d, out_of_order %d, errors %d; want 0 each",
					*rep.Lost, *rep.Duplicated, *rep.OutOfOrder, rep.Errors)
			}
			if rep.CommitsPerCommand == nil || rep.Projection == nil || *rep.Projection != 0 {
				t.Errorf("in-process run: got commits_per_command %v, projection_mismatches %v; want a number and 0",
					rep.CommitsPerCommand, rep.Projection)
			}
		})
	}
}

// --cpuprofile makes a role write a CPU profile of itself that ends with the
// process, even one that stops as soon as it starts; dropoff load passes it
// on to the server it starts with --server-cpuprofile, and refuses that flag
// where it starts no server of its own.
func TestCPUProfileFlags(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // stop at once: the profile must still be written
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--cpuprofile", prof}
	_ = run(ctx, args, func(string) string { return "" }, io.Discard, io.Discard)
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatalf("read the profile: %v", err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof's format is gzipped
		t.Errorf("the profile is not a pprof file: % x", b[:min(len(b), 8)])
	}
	for _, extra := range [][]string{{"--in-process"}, {"--target", "http://127.0.0.1:1"}, {"--compare"}} {
		if _, err := parseLoadFlags(append([]string{"--server-cpuprofile", prof}, extra...), io.Discard); err == nil {
			t.Errorf("dropoff load --server-cpuprofile %v: got no error", extra)
		}
	}
}

// Unless GOGC is set, Dropoff lets the heap grow to five times what is live
// before collecting (tuneGC); with GOGC set, the runtime's reading of it stands.
func TestGCTarget(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: the GC percent is %d, want %d", got, gcPercent)
	}
	tuneGC(func(k string) string { return map[string]string{"GOGC": "100"}[k] })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: the GC percent is %d, want it left at 100", got)
	}
}
