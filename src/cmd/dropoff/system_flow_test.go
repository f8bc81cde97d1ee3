package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/httpapi/apitest"
)

func TestPutAcceptedThenVisible(t *testing.T) {
	s := startSystem(t)
	r := s.do(t, "PUT", "/v1/shipments/p-1", parcel)
	if r.Status != http.StatusAccepted {
		t.Fatalf("PUT: HTTP %d %v, want 202", r.Status, r.Body)
	}
	op, _ := r.Body["id"].(string)
	want := "/v1/operations/" + op
	for _, h := range []string{"Location", "Operation-Location"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if got := r.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if r.Body["status"] != "NotStarted" || r.Body["kind"] != "shipment.upsert" || r.Body["resourceLocation"] != "/v1/shipments/p-1" {
		t.Errorf("202 body = %v", r.Body)
	}
	if got := s.wait(t, op); got["status"] != "Succeeded" || got["resourceVersion"] != 1.0 {
		t.Fatalf("operation = %v, want Succeeded at version 1", got)
	}
	g := s.do(t, "GET", "/v1/shipments/p-1", "")
	if g.Status != http.StatusOK || g.Header.Get("ETag") != `"1"` || g.Body["version"] != 1.0 || g.Body["recipient"] != "Ada" || g.Body["status"] != "registered" {
		t.Errorf("GET = HTTP %d ETag %s %v", g.Status, g.Header.Get("ETag"), g.Body)
	}
}

// TestOrderAcrossConcurrentShipments drives 30 shipments at once, each with
// commands sent one after another, while the worker runs 8 sessions; every
// shipment's history must list its commands in the order they were sent.
func TestOrderAcrossConcurrentShipments(t *testing.T) {
	s := startSystem(t, "--worker-sessions", "8")
	const shipments, patches = 30, 12
	statuses := []string{"picked_up", "in_transit", "out_for_delivery"}
	sent := make([][]string, shipments)
	peak := s.watchSessions(t)
	var wg sync.WaitGroup
	for i := range shipments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("order-%02d", i)
			sent[i] = append(sent[i], s.command(t, "PUT", id, parcel))
			for n := 1; n <= patches; n++ {
				body := fmt.Sprintf(`{"recipient":"r-%d"}`, n)
				if n%4 == 0 {
					body = fmt.Sprintf(`{"recipient":"r-%d","status":%q}`, n, statuses[n/4-1])
				}
				sent[i] = append(sent[i], s.command(t, "PATCH", id, body))
			}
		}()
	}
	wg.Wait()
	if got := peak(); got < 8 {
		t.Errorf("at most %d sessions were active at once, want 8", got)
	}
	for i := range shipments {
		id := fmt.Sprintf("order-%02d", i)
		for _, op := range sent[i] {
			if got := s.wait(t, op); got["status"] != "Succeeded" {
				t.Fatalf("%s: operation %v, want Succeeded", id, got)
			}
		}
		h := s.do(t, "GET", "/v1/shipments/"+id+"/history", "")
		items, _ := h.Body["items"].([]any)
		if len(items) != len(sent[i]) {
			t.Fatalf("%s: %d history entries, want %d", id, len(items), len(sent[i]))
		}
		for v, it := range items {
			e := it.(map[string]any)
			if e["version"] != float64(v+1) || e["operationId"] != sent[i][v] {
				t.Fatalf("%s: history[%d] = %v, want version %d from operation %s", id, v, e, v+1, sent[i][v])
			}
		}
		g := s.do(t, "GET", "/v1/shipments/"+id, "")
		if g.Body["recipient"] != fmt.Sprintf("r-%d", patches) || g.Body["status"] != "out_for_delivery" {
			t.Errorf("%s = %v, want the last patch applied last", id, g.Body)
		}
	}
}

// watchSessions samples the worker's active-sessions gauge from /metrics
// until the returned function is called, which reports the highest value seen.
func (s *system) watchSessions(t *testing.T) (peak func() int) {
	var mu sync.Mutex
	highest, stop, done := 0, make(chan struct{}), make(chan struct{})
	client := apiClient(t)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond): // the sampling interval
			}
			resp, err := client.Get(s.URL + "/metrics")
			if mismatch := (*apitest.MismatchError)(nil); errors.As(err, &mismatch) {
				t.Error(err)
				return
			}
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "dropoff_worker_sessions_active "); ok {
					n, _ := strconv.ParseFloat(v, 64)
					mu.Lock()
					highest = max(highest, int(n))
					mu.Unlock()
				}
			}
		}
	}()
	return func() int {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return highest
	}
}

func TestBusinessFailuresChangeNothing(t *testing.T) {
	s := startSystem(t)
	s.succeed(t, "PUT", "live", parcel)
	s.succeed(t, "PATCH", "live", `{"status":"in_transit"}`)
	s.succeed(t, "PUT", "done", parcel)
	s.succeed(t, "PATCH", "done", `{"status":"delivered"}`)
	tests := []struct {
		name, method, id, body string
		headers                []string
		code                   string
	}{
		{"patch of an unknown shipment", "PATCH", "nobody", `{"recipient":"x"}`, nil, "NotFound"},
		{"delete of an unknown shipment", "DELETE", "nobody", "", nil, "NotFound"},
		{"status backwards", "PATCH", "live", `{"status":"registered"}`, nil, "InvalidTransition"},
		{"replace going backwards", "PUT", "live", `{"recipient":"a","destination":"b","weightGrams":1,"service":"standard","status":"picked_up"}`, nil, "InvalidTransition"},
		{"change after delivered", "PATCH", "done", `{"recipient":"someone else"}`, nil, "InvalidTransition"},
		{"replace after delivered", "PUT", "done", parcel, nil, "InvalidTransition"},
		{"delete after delivered", "DELETE", "done", "", nil, "InvalidTransition"},
		{"stale If-Match", "PATCH", "live", `{"recipient":"x"}`, []string{"If-Match", `"1"`}, "PreconditionFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.do(t, "GET", "/v1/shipments/"+tt.id, "")
			op := s.wait(t, s.command(t, tt.method, tt.id, tt.body, tt.headers...))
			e, _ := op["error"].(map[string]any)
			if op["status"] != "Failed" || e["code"] != tt.code {
				t.Fatalf("operation = %v, want Failed with %s", op, tt.code)
			}
			if _, ok := op["resourceVersion"]; ok {
				t.Errorf("a failed operation carries resourceVersion %v", op["resourceVersion"])
			}
			after := s.do(t, "GET", "/v1/shipments/"+tt.id, "")
			if after.Status != before.Status || after.Body["version"] != before.Body["version"] || after.Body["recipient"] != before.Body["recipient"] {
				t.Errorf("shipment changed: before HTTP %d %v, after HTTP %d %v", before.Status, before.Body, after.Status, after.Body)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := startSystem(t)
	first := s.command(t, "PUT", "idem", parcel, "Idempotency-Key", "k-1")
	again := s.command(t, "PUT", "idem", parcel, "Idempotency-Key", "k-1")
	if first != again {
		t.Fatalf("same key and body: operations %s and %s, want one", first, again)
	}
	s.wait(t, first)
	// After it was applied, a retry still maps to the same, finished operation.
	if late := s.command(t, "PUT", "idem", parcel, "Idempotency-Key", "k-1"); late != first {
		t.Fatalf("late retry: operation %s, want %s", late, first)
	}
	other := s.command(t, "PUT", "idem", `{"recipient":"Mallory","destination":"x","weightGrams":5,"service":"standard"}`, "Idempotency-Key", "k-1")
	op := s.wait(t, other)
	if e, _ := op["error"].(map[string]any); op["status"] != "Failed" || e["code"] != "IdempotencyKeyReused" {
		t.Fatalf("same key, other body: %v, want Failed IdempotencyKeyReused", op)
	}
	// A later, unrelated command shows that nothing else was applied.
	s.succeed(t, "PATCH", "idem", `{"status":"picked_up"}`)
	h := s.do(t, "GET", "/v1/shipments/idem/history", "")
	if items, _ := h.Body["items"].([]any); len(items) != 2 {
		t.Errorf("history has %d entries, want 2 (one PUT, one PATCH): %v", len(items), h.Body)
	}
	if g := s.do(t, "GET", "/v1/shipments/idem", ""); g.Body["recipient"] != "Ada" {
		t.Errorf("recipient = %v, want Ada", g.Body["recipient"])
	}
}

// TestReadYourWrites checks, for every command, that the moment its
// operation reads Succeeded, the shipment reads that version or a later one.
func TestReadYourWrites(t *testing.T) {
	s := startSystem(t)
	ops := []string{s.command(t, "PUT", "ryw", parcel)}
	for n := range 40 {
		ops = append(ops, s.command(t, "PATCH", "ryw", fmt.Sprintf(`{"recipient":"r-%d"}`, n)))
	}
	for _, id := range ops {
		op := s.wait(t, id)
		v, _ := op["resourceVersion"].(float64)
		g := s.do(t, "GET", "/v1/shipments/ryw", "")
		if got, _ := g.Body["version"].(float64); g.Status != http.StatusOK || got < v {
			t.Fatalf("operation %s Succeeded at version %v, but GET shows HTTP %d version %v", id, v, g.Status, g.Body["version"])
		}
	}
}

// With --mode sync the command API applies each command in the request and
// answers 200 with the operation as it ended (the baseline the load tool
// compares against); s.do checks that answer against docs/openapi.yaml too.
func TestSyncModeAnswersTheOutcome(t *testing.T) {
	s := startSystem(t, "--mode", "sync")
	r := s.do(t, "PUT", "/v1/shipments/sync-1", parcel)
	if r.Status != http.StatusOK || r.Body["status"] != "Succeeded" || r.Body["resourceVersion"] != 1.0 {
		t.Fatalf("PUT: HTTP %d %v, want 200 Succeeded at version 1", r.Status, r.Body)
	}
	r = s.do(t, "PATCH", "/v1/shipments/sync-1", `{"status":"picked_up"}`, "If-Match", `"7"`)
	failure, _ := r.Body["error"].(map[string]any)
	if r.Status != http.StatusOK || r.Body["status"] != "Failed" || failure["code"] != "PreconditionFailed" {
		t.Fatalf("PATCH at a wrong version: HTTP %d %v, want 200 Failed with PreconditionFailed", r.Status, r.Body)
	}
}
