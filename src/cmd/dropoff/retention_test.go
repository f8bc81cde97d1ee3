package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With retain-feed at 0 the projector trims every applied entry but the one
// at its checkpoint; shipments and their history stay, and commands go on.
func TestAppliedFeedIsTrimmed(t *testing.T) {
	s := startSystem(t, "--retain-feed", "0s", "--retention-interval", "1s")
	for i := range 10 {
		s.succeed(t, "PUT", fmt.Sprintf("trim-%d", i), parcel)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, "write.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM changes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed still has %d entries 20s after they were applied, want 1 (the checkpoint's)", n)
		}
		time.Sleep(50 * time.Millisecond) // polling what another goroutine does on its own schedule
	}
	if h := s.do(t, "GET", "/v1/shipments/trim-0/history", ""); h.Status != 200 || len(h.Body["items"].([]any)) != 1 {
		t.Errorf("history of trim-0 after trimming the feed: HTTP %d %v", h.Status, h.Body)
	}
	s.succeed(t, "PATCH", "trim-0", `{"recipient":"After the trim"}`)
	if got := s.do(t, "GET", "/v1/shipments/trim-0", ""); got.Body["recipient"] != "After the trim" {
		t.Errorf("a command after the trim: %v", got.Body)
	}
}

// retain-operations must outlive the queue's time to live: a message still
// on the queue must find its operation, or it would be applied again.
func TestRetainOperationsMustOutliveTheQueue(t *testing.T) {
	var stderr strings.Builder
	_, err := parseConfig("serve", []string{"--queue-ttl", "2h", "--retain-operations", "2h5m"}, func(string) string { return "" }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "retain-operations") {
		t.Errorf("retain-operations 2h5m with queue-ttl 2h: %v, want a refusal naming retain-operations", err)
	}
	if _, err := parseConfig("serve", []string{"--queue-ttl", "2h", "--retain-operations", "2h10m"}, func(string) string { return "" }, &stderr); err != nil {
		t.Errorf("retain-operations 2h10m with queue-ttl 2h: %v, want it accepted", err)
	}
}

// With lanes, each shipment's commands share one of a few sessions and still
// apply once each, in the order accepted.
func TestLanesKeepEachShipmentInOrder(t *testing.T) {
	s := startSystem(t, "--session-lanes", "3")
	var last []string
	for i := range 12 {
		id := fmt.Sprintf("lane-%d", i)
		s.command(t, "PUT", id, parcel)
		for j := range 3 {
			s.command(t, "PATCH", id, fmt.Sprintf(`{"recipient":"R%d"}`, j))
		}
		last = append(last, s.command(t, "PATCH", id, `{"recipient":"last"}`))
	}
	for i, op := range last {
		if got := s.wait(t, op); got["status"] != "Succeeded" {
			t.Fatalf("last command of lane-%d: %v", i, got)
		}
		h := s.do(t, "GET", fmt.Sprintf("/v1/shipments/lane-%d/history", i), "")
		items, _ := h.Body["items"].([]any)
		if len(items) != 5 {
			t.Fatalf("lane-%d: %d history entries, want 5", i, len(items))
		}
		for v, it := range items {
			if got := it.(map[string]any)["version"]; got != float64(v+1) {
				t.Errorf("lane-%d entry %d: version %v, want %d", i, v, got, v+1)
			}
		}
	}
}
