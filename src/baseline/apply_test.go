package baseline

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// openStore is a real write store in the test's directory.
func openStore(t *testing.T) *sqlite.WriteStore {
	t.Helper()
	ws, err := sqlite.OpenWriteStore(t.Context(), filepath.Join(t.TempDir(), "write.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// downStore is a write store whose database is unreachable.
type downStore struct{ store.WriteStore }

func (downStore) Update(context.Context, func(context.Context, store.WriteTx) error) error {
	return errors.New("database unreachable")
}

func TestApplyInline(t *testing.T) {
	ws := openStore(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	put := command.Command{OperationID: "op-put", ShipmentID: "s1", Kind: command.KindUpsert,
		Payload: shipment.Fields{Recipient: "Ada", Destination: "Leeds", WeightGrams: 500, Service: shipment.Standard}}
	patchMissing := command.Command{OperationID: "op-patch", ShipmentID: "nobody", Kind: command.KindPatch,
		Payload: shipment.Patch{Recipient: new("Bea")}}

	tests := []struct {
		name        string
		cmd         command.Command
		wantStatus  operation.Status
		wantVersion int64
		wantCode    operation.ErrorCode
	}{
		{"put creates", put, operation.Succeeded, 1, ""},
		{"same operation again is not reapplied", put, operation.Succeeded, 1, ""},
		{"patch of an unknown shipment fails", patchMissing, operation.Failed, 0, operation.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := Apply(t.Context(), ws, tt.cmd, now)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if op.ID != tt.cmd.OperationID || op.Status != tt.wantStatus || op.ResourceVersion != tt.wantVersion {
				t.Errorf("got %s %s v%d, want %s %s v%d", op.ID, op.Status, op.ResourceVersion,
					tt.cmd.OperationID, tt.wantStatus, tt.wantVersion)
			}
			var code operation.ErrorCode
			if op.Error != nil {
				code = op.Error.Code
			}
			if code != tt.wantCode {
				t.Errorf("got error code %q, want %q", code, tt.wantCode)
			}
		})
	}
	changes, err := ws.ReadChanges(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(changes); got != 2 {
		t.Errorf("got %d change-feed entries, want 2 (the put and the failed patch, once each)", got)
	}
}

func TestApplyStoreDown(t *testing.T) {
	ws := openStore(t)
	cmd := command.Command{OperationID: "op", ShipmentID: "s1", Kind: command.KindDelete}
	if _, err := Apply(t.Context(), downStore{ws}, cmd, time.Now()); err == nil {
		t.Fatal("got no error from a store that is down, want one")
	}
	var found bool
	err := ws.Update(t.Context(), func(ctx context.Context, tx store.WriteTx) (err error) {
		_, found, err = tx.Operation(ctx, "op")
		return err
	})
	if err != nil || found {
		t.Errorf("operation recorded: %v (%v), want none", found, err)
	}
}
