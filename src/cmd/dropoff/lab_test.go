package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests drive the lab's controls with dropoff lab against a real
// process (its HTTP API, worker, projector and embedded stores), and check
// that each has the effect the live page promises.

// labCLI runs dropoff lab with args against s.
func labCLI(t *testing.T, s *system, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(t.Context(), append(append([]string{"lab"}, args...), "--url", s.URL),
		func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("dropoff lab %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// metric reads one series (name{labels}) from s's /metrics; 0 when absent.
func (s *system) metric(t *testing.T, series string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(fetchMetrics(t, s.URL), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", series, v, err)
			}
			return f
		}
	}
	return 0
}

// poll waits until cond holds, for up to 20 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 20s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, with the deadline above
	}
}

func (s *system) operationStatus(t *testing.T, op string) string {
	t.Helper()
	st, _ := s.do(t, "GET", "/v1/operations/"+op, "").Body["status"].(string)
	return st
}

// Pausing the worker stops applying: commands are accepted and wait on the
// queue, NotStarted, the queue's depth grows; resuming drains it.
func TestLabPauseWorker(t *testing.T) {
	s := startSystem(t)
	if out := labCLI(t, s, "pause", "worker"); !strings.Contains(out, "worker:      paused") {
		t.Fatalf("lab pause worker said %q", out)
	}
	applied := s.metric(t, `dropoff_worker_messages_total{outcome="succeeded"}`)
	var ops []string
	for i := range 20 {
		ops = append(ops, s.command(t, "PUT", fmt.Sprintf("paused-%d", i%4), parcel))
	}
	poll(t, "20 messages on the queue", func() bool { return s.metric(t, "dropoff_queue_messages") >= 20 })
	for _, op := range ops {
		if st := s.operationStatus(t, op); st != "NotStarted" {
			t.Errorf("operation %s is %s while the worker is paused; want NotStarted", op, st)
		}
	}
	if got := s.metric(t, `dropoff_worker_messages_total{outcome="succeeded"}`); got != applied {
		t.Errorf("the worker applied %v messages while paused; want none", got-applied)
	}

	labCLI(t, s, "resume", "worker")
	for _, op := range ops {
		if got := s.wait(t, op); got["status"] != "Succeeded" {
			t.Errorf("operation %s after resume: %v; want Succeeded", op, got)
		}
	}
	poll(t, "an empty queue", func() bool { return s.metric(t, "dropoff_queue_messages") == 0 })
}

// Pausing the projector leaves the projection behind while the worker goes
// on: a command is applied but not visible; resuming catches up.
func TestLabPauseProjector(t *testing.T) {
	s := startSystem(t)
	labCLI(t, s, "pause", "projector")
	succeeded := `dropoff_worker_messages_total{outcome="succeeded"}`
	before := s.metric(t, succeeded)
	op := s.command(t, "PUT", "behind", parcel)
	poll(t, "the worker to apply the command", func() bool { return s.metric(t, succeeded) > before })
	if st := s.operationStatus(t, op); st != "NotStarted" {
		t.Errorf("operation %s reads %s with the projector paused; want NotStarted (the projection is behind)", op, st)
	}
	if r := s.do(t, "GET", "/v1/shipments/behind", ""); r.Status != http.StatusNotFound {
		t.Errorf("GET the shipment with the projector paused: %d; want 404", r.Status)
	}
	if out := labCLI(t, s, "resume", "projector"); !strings.Contains(out, "projector:   running") {
		t.Errorf("lab resume projector said %q", out)
	}
	if got := s.wait(t, op); got["status"] != "Succeeded" {
		t.Errorf("operation after resume: %v; want Succeeded", got)
	}
	if r := s.do(t, "GET", "/v1/shipments/behind", ""); r.Status != http.StatusOK {
		t.Errorf("GET the shipment after resume: %d; want 200", r.Status)
	}
}

// Slowing the write store makes each command's transaction wait; 0s ends it.
func TestLabSlowWriteStore(t *testing.T) {
	s := startSystem(t)
	const delay = 300 * time.Millisecond
	if out := labCLI(t, s, "slow", delay.String()); !strings.Contains(out, "write delay: 300ms") {
		t.Fatalf("lab slow said %q", out)
	}
	start := time.Now()
	s.succeed(t, "PUT", "slow-1", parcel)
	if took := time.Since(start); took < delay {
		t.Errorf("a command applied %v after its 202 with the write store slowed by %v; want at least the delay", took, delay)
	}
	if out := labCLI(t, s, "slow", "0s"); !strings.Contains(out, "write delay: 0s") {
		t.Errorf("lab slow 0s said %q", out)
	}
}

// Restarting the worker stops it cleanly and starts it again: commands
// sent around the restart are all applied, in order.
func TestLabRestartWorker(t *testing.T) {
	s := startSystem(t)
	first := s.succeed(t, "PUT", "restarted", parcel)
	labCLI(t, s, "restart", "worker")
	if !strings.Contains(s.logs.String(), "worker restarted (lab)") {
		t.Errorf("no log line says the worker restarted:\n%s", s.logs)
	}
	second := s.succeed(t, "PUT", "restarted", parcel)
	if first["resourceVersion"] != 1.0 || second["resourceVersion"] != 2.0 {
		t.Errorf("versions %v, %v around the restart; want 1, 2", first["resourceVersion"], second["resourceVersion"])
	}
}

// A burst sends N commands over M shipments; each shipment ends at its
// share of N, applied in order. A poison message is dead-lettered at once,
// and its operation ends Failed with DeadLettered.
func TestLabBurstAndPoison(t *testing.T) {
	s := startSystem(t)
	if out := labCLI(t, s, "burst", "--commands", "100", "--shipments", "4", "--prefix", "b"); !strings.Contains(out, "accepted 100 commands over 4 shipments (b-000 … b-003)") {
		t.Errorf("lab burst said %q", out)
	}
	for j := range 4 {
		id := fmt.Sprintf("b-%03d", j)
		poll(t, id+" at version 25", func() bool {
			r := s.do(t, "GET", "/v1/shipments/"+id, "")
			return r.Status == http.StatusOK && r.Body["version"] == 25.0
		})
	}
	out := labCLI(t, s, "poison", "b-001")
	op := strings.Fields(strings.SplitN(out, "operation ", 2)[1])[0]
	got := s.wait(t, op)
	if e, _ := got["error"].(map[string]any); got["status"] != "Failed" || e["code"] != "DeadLettered" ||
		!strings.Contains(fmt.Sprint(e["message"]), "MalformedCommand") {
		t.Errorf("the poison's operation: %v; want Failed, DeadLettered (MalformedCommand)", got)
	}
	// The session goes on: the next command of the shipment applies.
	if next := s.succeed(t, "PUT", "b-001", parcel); next["resourceVersion"] != 26.0 {
		t.Errorf("the command after the poison: %v; want version 26", next)
	}
}

// The lab is off when the process does not listen on a loopback address,
// even one run open on purpose (with no authentication, which a process on
// such an address refuses unless told --allow-anonymous).
func TestLabIsOffAwayFromLoopback(t *testing.T) {
	s := startSystem(t, "--addr", "0.0.0.0:0", "--allow-anonymous")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := apiClient(t).Get("http://127.0.0.1:" + port + "/admin/lab") // from loopback, to a listener that is not
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /admin/lab on a process listening on 0.0.0.0: %d; want 403", resp.StatusCode)
	}
}

// dropoff lab says what is wrong with its arguments before it calls
// anything, and what the API said when it answers with a problem.
func TestLabCommandArguments(t *testing.T) {
	s := startSystem(t)
	cli := func(args ...string) error {
		return run(t.Context(), append(append([]string{"lab"}, args...), "--url", s.URL),
			func(string) string { return "" }, io.Discard, io.Discard)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explode"}, "unknown action"},
		{[]string{"pause"}, "want one argument"},
		{[]string{"pause", "database"}, "not worker or projector"},
		{[]string{"status", "extra"}, "unexpected argument"},
		{[]string{"slow", "soon"}, "not a duration"},
		{[]string{"restart", "projector"}, "404"},
		{[]string{"slow", "11s"}, "400"},
		{[]string{"poison", "a/b"}, "400"},
	} {
		if err := cli(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dropoff lab %s: %v; want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if out := labCLI(t, s, "status"); out != "worker:      running\nprojector:   running\nwrite delay: 0s\n" {
		t.Errorf("lab status said %q", out)
	}
}

// A process whose worker and projector are paused still shuts down
// cleanly, and promptly (openMain's cleanup requires it): the pauses end
// with their context.
func TestLabPausedProcessShutsDown(t *testing.T) {
	s := startSystem(t)
	labCLI(t, s, "pause", "worker")
	labCLI(t, s, "pause", "projector")
	s.command(t, "PUT", "left-waiting", parcel)
}
