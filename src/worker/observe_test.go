package worker

import (
	"sync"
	"testing"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// TestObserveHearsEveryOutcome: Observe hears a success, a business failure
// and a message dead-lettered at once (with its reason), then the dead
// letter's operation recorded Failed/DeadLettered; a duplicate, which
// changed nothing, is not reported.
func TestObserveHearsEveryOutcome(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	var mu sync.Mutex
	var heard []Outcome
	cfg := testConfig()
	cfg.DeadLetters = b
	cfg.Observe = func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, o)
	}
	ok := upsert(t, "s-1", testFields)
	bad := patch(t, "s-2", shipment.Patch{Status: ptrTo(shipment.Delivered)}) // s-2 does not exist
	msgs := messages(t, ok, ok, bad, upsert(t, "s-3", testFields))            // ok twice: a duplicate
	msgs[3].Body = []byte("not a command")
	poison := msgs[3].Properties[command.PropOperationID]
	b.send(msgs...)
	start(t, b, s, cfg)

	waitFor(t, "four outcomes and three completions (the duplicate's included)", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(heard) >= 4 && len(b.completions()) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	byOp := map[string][]Outcome{}
	for _, o := range heard {
		byOp[o.Operation.ID] = append(byOp[o.Operation.ID], o)
	}
	if got := byOp[ok.OperationID]; len(got) != 1 || got[0].Operation.Status != operation.Succeeded || got[0].Operation.ResourceVersion != 1 {
		t.Errorf("outcomes of the upsert sent twice = %+v; want one, Succeeded at version 1", got)
	}
	if got := byOp[bad.OperationID]; len(got) != 1 || got[0].Operation.Status != operation.Failed ||
		got[0].Operation.Error == nil || got[0].Operation.Error.Code != operation.CodeNotFound {
		t.Errorf("outcomes of the patch of a missing shipment = %+v; want one, Failed NotFound", got)
	}
	got := byOp[poison]
	if len(got) != 2 || !got[0].DeadLettered || got[0].Reason != command.ReasonMalformed || got[0].Operation.ShipmentID != "s-3" ||
		got[1].DeadLettered || got[1].Operation.Error == nil || got[1].Operation.Error.Code != operation.CodeDeadLettered {
		t.Errorf("outcomes of the poison = %+v; want dead-lettered (MalformedCommand, s-3), then its operation Failed/DeadLettered", got)
	}
}

func ptrTo[T any](v T) *T { return &v }
