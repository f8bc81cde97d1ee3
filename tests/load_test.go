package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRunsTheServerInItsOwnProcess: by default dropoff load starts the
// system it drives as a process of its own, verifies the run across the
// process boundary (the feed, the projection, the commit counters) and stops
// it; the report says where the server ran and what measuring cost.
func TestLoadRunsTheServerInItsOwnProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "load.json")
	cmd := exec.Command(binary, "load", "--duration", "2s", "--rate", "150", "--concurrency", "8",
		"--shipments", "20", "--drain-timeout", "20s", "--json", out)
	cmd.Env = isolatedEnv(os.Environ())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dropoff load: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Server            string   `json:"server"`
		Accepted          int64    `json:"accepted"`
		Verified          bool     `json:"verified"`
		Lost              int      `json:"lost"`
		Duplicated        int      `json:"duplicated"`
		OutOfOrder        int      `json:"out_of_order"`
		CommitsPerCommand *float64 `json:"commits_per_command"`
		Projection        *int     `json:"projection_mismatches"`
		AppliedPerSec     *float64 `json:"applied_per_sec"`
		PollsPerCommand   float64  `json:"polls_per_command"`
		SpreadShipments   int      `json:"spread_shipments"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, b)
	}
	if !strings.HasPrefix(rep.Server, "its own process") {
		t.Errorf("server %q, want its own process", rep.Server)
	}
	if rep.Accepted == 0 || !rep.Verified || rep.Lost != 0 || rep.Duplicated != 0 || rep.OutOfOrder != 0 {
		t.Errorf("accepted %d, verified %v, lost %d, duplicated %d, out of order %d; want a clean, verified run",
			rep.Accepted, rep.Verified, rep.Lost, rep.Duplicated, rep.OutOfOrder)
	}
	if rep.CommitsPerCommand == nil || *rep.CommitsPerCommand <= 0 || rep.Projection == nil || *rep.Projection != 0 || rep.AppliedPerSec == nil {
		t.Errorf("commits per command %v, projection mismatches %v, applied/s %v: want them read across the process boundary",
			rep.CommitsPerCommand, rep.Projection, rep.AppliedPerSec)
	}
	if rep.PollsPerCommand <= 0 || rep.PollsPerCommand > 0.5 {
		t.Errorf("measuring cost %.3f GETs per command, want a small, non-zero share", rep.PollsPerCommand)
	}
	if rep.SpreadShipments == 0 || rep.SpreadShipments > 20 {
		t.Errorf("spread over %d shipments, want 1 to 20", rep.SpreadShipments)
	}
}
