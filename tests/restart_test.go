package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestAcceptedCommandsSurviveRestart accepts commands with only the command
// API running (nothing processes them), stops it, and starts the whole
// system: every accepted command is processed, and a second restart keeps
// everything.
func TestAcceptedCommandsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	api := start(t, dir, "command-api")
	var ops []string
	for i := range 20 {
		body := fmt.Sprintf(`{"recipient":"R%d","destination":"D","weightGrams":%d,"service":"express"}`, i, 100+i)
		status, op, err := send("PUT", fmt.Sprintf("%s/v1/shipments/restart-%d", api.URL, i), body)
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("PUT %d: HTTP %d, %v", i, status, err)
		}
		ops = append(ops, op)
	}
	api.stop()

	sys := start(t, dir, "serve")
	for id, op := range waitOperations(t, sys.URL, ops, 30*time.Second) {
		if op.Status != "Succeeded" {
			t.Errorf("operation %s: %s, want Succeeded", id, op.Status)
		}
	}
	sys.stop()

	again := start(t, dir, "query-api")
	for i := range 20 {
		var s struct {
			Recipient   string
			WeightGrams int
			Version     int64
		}
		if status := getJSON(t, fmt.Sprintf("%s/v1/shipments/restart-%d", again.URL, i), &s); status != http.StatusOK {
			t.Fatalf("GET restart-%d after restart: HTTP %d", i, status)
		}
		if s.Recipient != fmt.Sprintf("R%d", i) || s.WeightGrams != 100+i || s.Version != 1 {
			t.Errorf("restart-%d = %+v, want recipient R%d, weight %d, version 1", i, s, i, 100+i)
		}
	}
	again.stop()
}

// TestRolesAsSeparateProcesses runs the four roles as four processes on one
// data directory, the way they deploy: a command accepted by the command API
// is applied by the worker, projected by the projector, and read through the
// query API.
func TestRolesAsSeparateProcesses(t *testing.T) {
	dir := t.TempDir()
	cmdAPI := start(t, dir, "command-api")
	start(t, dir, "worker")
	start(t, dir, "projector")
	query := start(t, dir, "query-api")

	status, op, err := send("PUT", cmdAPI.URL+"/v1/shipments/roles-1",
		`{"recipient":"Ada","destination":"Analytical St 1","weightGrams":1200,"service":"standard"}`)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("PUT: HTTP %d, %v", status, err)
	}
	if got := waitOperations(t, query.URL, []string{op}, 30*time.Second)[op]; got.Status != "Succeeded" {
		t.Fatalf("operation: %+v, want Succeeded", got)
	}
	var s struct{ Recipient, Status string }
	if status := getJSON(t, query.URL+"/v1/shipments/roles-1", &s); status != http.StatusOK || s.Recipient != "Ada" || s.Status != "registered" {
		t.Errorf("GET: HTTP %d %+v, want 200 Ada registered", status, s)
	}
	if status := getJSON(t, cmdAPI.URL+"/v1/shipments/roles-1", nil); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("GET on the command API: HTTP %d, want it not to serve queries", status)
	}
}
