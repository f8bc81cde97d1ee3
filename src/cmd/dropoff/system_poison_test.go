package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// TestPoisonMessagesAreDeadLettered puts messages straight on the queue that
// no worker can process, then a good command in the same session: the bad
// ones are dead-lettered at once with a reason, the good one still applies.
func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	s := startSystem(t)
	q, err := sqlitebus.Open(filepath.Join(s.dir, "queue.db"), sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	poison := func(subject, body string) bus.Message {
		id, err := operation.NewID()
		if err != nil {
			t.Fatal(err)
		}
		return bus.Message{ID: id, SessionID: "poisoned", Subject: subject, ContentType: "application/json",
			Properties: map[string]string{command.PropSchemaVersion: command.SchemaVersion, command.PropOperationID: id},
			Body:       []byte(body)}
	}
	unknown, garbled := poison("shipment.explode", `{}`), poison("shipment.upsert", `{not json`)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := q.Send(ctx, unknown, garbled); err != nil {
		t.Fatal(err)
	}
	s.succeed(t, "PUT", "poisoned", parcel)

	want := map[string]string{unknown.ID: command.ReasonUnknownKind, garbled.ID: command.ReasonMalformed}
	dl := s.do(t, "GET", "/admin/v1/deadletters?limit=10", "")
	items, _ := dl.Body["items"].([]any)
	if dl.Status != http.StatusOK || len(items) != 2 {
		t.Fatalf("dead letters: HTTP %d %v, want 2", dl.Status, dl.Body)
	}
	for _, it := range items {
		m := it.(map[string]any)
		id, _ := m["messageId"].(string)
		if m["deadLetterReason"] != want[id] || m["deadLetterDescription"] == "" {
			t.Errorf("dead letter %v: want reason %s and a description", m, want[id])
		}
	}
	// The dead-letter recorder ends their operations too: nobody waits forever.
	for id := range want {
		op := s.wait(t, id)
		if e, _ := op["error"].(map[string]any); op["status"] != "Failed" || e["code"] != "DeadLettered" {
			t.Errorf("operation %s = %v, want Failed DeadLettered", id, op)
		}
	}
}
