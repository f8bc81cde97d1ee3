package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// startRole runs one role in dir until the test ends, once it is ready.
func startRole(t *testing.T, dir string, args ...string) *system {
	t.Helper()
	logs := &logSink{}
	m := openMain(t, append(args, "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"), logs)
	select {
	case <-m.Ready():
	case <-m.Done():
		t.Fatalf("dropoff %s exited: %v\n%s", args[0], m.Wait(), logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("dropoff %s did not start within 30s:\n%s", args[0], logs)
	}
	return &system{URL: m.URL(), dir: dir, logs: logs}
}

// TestStatsLagIsTrueWithTheProjectorStopped reproduces a defect of issue 13:
// with the projector stopped, /v1/stats said lagEntries 0 (its head was the
// projector's last look) and nothing told a reader the data was stale. The
// query API now measures the lag against the write database's feed, says so
// in the Projection-Lag header, and stays ready.
func TestStatsLagIsTrueWithTheProjectorStopped(t *testing.T) {
	dir := t.TempDir()
	startRole(t, dir, "worker")
	cmds := startRole(t, dir, "command-api")
	query := startRole(t, dir, "query-api")

	for _, id := range []string{"a", "b", "c"} {
		cmds.command(t, "PUT", id, `{"recipient":"Ada","destination":"London","weightGrams":10,"service":"standard"}`)
	}
	var st response
	deadline := time.Now().Add(20 * time.Second)
	for {
		st = query.do(t, "GET", "/v1/stats", "")
		if st.Body["lagEntries"] == float64(3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats with no projector never showed the 3 applied changes as lag: %v", st.Body)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
	if st.Body["lagSource"] != "write-db" || st.Body["checkpoint"] != float64(0) {
		t.Errorf("stats = %v; want the lag measured against the write database, from checkpoint 0", st.Body)
	}
	if r := query.do(t, "GET", "/readyz", ""); r.Status != http.StatusOK {
		t.Errorf("/readyz of the query API while the projection lags: %d %v; want ready", r.Status, r.Body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		r := query.do(t, "GET", "/v1/shipments", "")
		// The header comes from a sample at most a second old.
		h := r.Header.Get("Projection-Lag")
		if strings.HasPrefix(h, "entries=3, ") && strings.HasSuffix(h, ", source=write-db") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Projection-Lag = %q within 10s, want 3 entries measured against the write database", h)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}

	// The projector comes back and catches up.
	startRole(t, dir, "projector")
	for deadline := time.Now().Add(20 * time.Second); ; {
		st = query.do(t, "GET", "/v1/stats", "")
		if st.Body["lagEntries"] == float64(0) && st.Body["total"] == float64(3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not catch up within 20s: %v", st.Body)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
	if st.Body["lagMillis"] != float64(0) {
		t.Errorf("caught up, lagMillis = %v; want 0", st.Body["lagMillis"])
	}
}
