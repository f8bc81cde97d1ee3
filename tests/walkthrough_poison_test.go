package tests

import (
	"context"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// poisonForLab stands for "./dropoff lab poison SHIPMENT" in lab 3 of
// docs/walkthrough.md, until that subcommand exists: it puts a message no
// worker can decode (an unknown subject) straight on the embedded queue at
// queueFile, in the shipment's session, as the poison tests of
// src/cmd/dropoff do. The worker dead-letters it at once, and the dead-letter
// recorder marks its operation Failed/DeadLettered.
//
// It is the one place this package imports Dropoff's own code.
//
// TODO(merge): replace with "dropoff lab poison": delete this file and the
// branch of labWorkdir.run that calls it.
func poisonForLab(t *testing.T, queueFile, shipmentID string) {
	t.Helper()
	q, err := sqlitebus.Open(queueFile, sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := operation.NewID()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = q.Send(ctx, bus.Message{ID: id, SessionID: shipmentID, Subject: "shipment.explode", ContentType: "application/json",
		Properties: map[string]string{command.PropSchemaVersion: command.SchemaVersion, command.PropOperationID: id},
		Body:       []byte(`{}`)})
	if err != nil {
		t.Fatalf("lab poison: %v", err)
	}
}
