package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// workload sizes the random pipeline run.
type workload struct {
	Seed      uint64
	Commands  int // in all, shared among the writers
	Shipments int
	Writers   int // concurrent writers; each owns the shipments i%Writers == its number, like a session
}

// defaultWorkload is 10,000 commands over 200 shipments from 4 writers;
// under the race detector, 600 over 40, which exercises the same paths.
func defaultWorkload() workload {
	w := workload{Seed: 20250314, Commands: 10_000, Shipments: 200, Writers: 4}
	if raceEnabled {
		w.Commands, w.Shipments = 600, 40
	}
	return w
}

// workCommand is one command as the worker receives it.
type workCommand struct {
	opID, shipmentID string
	kind             command.Spec
	payload          command.Payload
	ifMatch          int64
	keyDigest        string
	requestDigest    string
	at               time.Time
}

// testRandomWorkload drives commands through the write store from several
// writers while a projector drains the feed into the projection; once all is
// drained the projection must equal the write database.
func testRandomWorkload(t *testing.T, db WriteDB, p ProjectionDB, w workload) {
	ctx := t.Context()
	start := time.Now()
	issued := make([][]string, w.Writers) // operation ids, per writer
	writersDone := make(chan struct{})
	var writers, projector sync.WaitGroup
	for n := range w.Writers {
		writers.Go(func() { issued[n] = runWriter(t, ctx, db, w, n) })
	}
	var applied int
	var projectErr error
	projector.Go(func() { applied, projectErr = runProjector(ctx, db, p, writersDone, w.Seed) })
	writers.Wait()
	wrote := time.Since(start)
	close(writersDone)
	projector.Wait()
	drained := time.Since(start)
	if projectErr != nil {
		t.Fatalf("projector: %v", projectErr)
	}
	if t.Failed() {
		return
	}
	var ops []string
	for _, ids := range issued {
		ops = append(ops, ids...)
	}
	if applied != len(ops) {
		t.Errorf("projector applied %d feed entries, want one per operation: %d", applied, len(ops))
	}
	live := compareShipments(t, db, p)
	outcomes := compareOperations(t, db, p, ops)
	compareHistories(t, db, p, w)
	if outcomes[operation.Succeeded] == 0 || outcomes[operation.Failed] == 0 {
		t.Errorf("outcomes %v: the workload should both succeed and fail", outcomes)
	}
	t.Logf("%d commands, %d operations (%d succeeded, %d failed), %d live shipments; "+
		"writers done in %v, feed drained at %v, compared at %v",
		w.Commands, len(ops), outcomes[operation.Succeeded], outcomes[operation.Failed], live,
		wrote.Round(time.Millisecond), drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// runWriter sends its share of the commands, sometimes redelivering the
// previous one (the inbox must absorb it), and returns the operation ids.
func runWriter(t *testing.T, ctx context.Context, db WriteDB, w workload, n int) []string {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(n)))
	var ids, keys []string
	var prev workCommand
	for i := n; i < w.Commands; i += w.Writers {
		c := prev
		if prev.opID == "" || rng.IntN(100) >= 3 {
			c = newCommand(rng, w, n, i, &keys)
			ids = append(ids, c.opID)
		}
		if err := db.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
			return applyCommand(ctx, tx, c)
		}); err != nil {
			t.Errorf("writer %d, command %s: %v", n, c.opID, err)
			return ids
		}
		prev = c
	}
	return ids
}

// newCommand makes a random command for one of writer n's shipments.
func newCommand(rng *rand.Rand, w workload, n, i int, keys *[]string) workCommand {
	owned := (w.Shipments - n + w.Writers - 1) / w.Writers
	c := workCommand{
		opID:       fmt.Sprintf("op-w%d-%05d", n, i),
		shipmentID: fmt.Sprintf("p-%03d", n+w.Writers*rng.IntN(owned)),
		at:         tick(i),
	}
	c.kind = pickKind(rng)
	// The kind's own sample, against a shipment imagined at a random status:
	// often one the real shipment is not at, so that status moves fail too.
	c.payload, _ = c.kind.Sample(rng, shipment.Shipment{Status: randomStatus(rng)}, true)
	if rng.IntN(10) == 0 {
		c.ifMatch = 1 + rng.Int64N(6)
	}
	switch r := rng.IntN(100); {
	case r < 6: // a fresh idempotency key
		c.keyDigest, c.requestDigest = fmt.Sprintf("key-w%d-%05d", n, i), "req-"+c.opID
		*keys = append(*keys, c.keyDigest)
	case r < 8 && len(*keys) > 0: // a key reused with another request
		c.keyDigest, c.requestDigest = (*keys)[rng.IntN(len(*keys))], "req-"+c.opID
	}
	if c.keyDigest != "" {
		c.opID = operation.KeyedID(c.keyDigest, c.requestDigest)
	}
	return c
}

// kindWeights are how often each kind is drawn, by name; a kind not named
// (a new one) is drawn as often as a cancel.
var kindWeights = map[string]int{"put": 35, "patch": 45, "delete": 20}

const otherKindWeight = 20

// pickKind draws a command kind by its weight.
func pickKind(rng *rand.Rand) command.Spec {
	specs := command.Specs()
	weight := func(s command.Spec) int {
		if w, ok := kindWeights[s.Name]; ok {
			return w
		}
		return otherKindWeight
	}
	total := 0
	for _, s := range specs {
		total += weight(s)
	}
	n := rng.IntN(total)
	for _, s := range specs {
		if n -= weight(s); n < 0 {
			return s
		}
	}
	return specs[len(specs)-1]
}

// randomStatus favours early statuses, so shipments live a while before
// they are delivered and frozen.
func randomStatus(rng *rand.Rand) shipment.Status {
	switch r := rng.IntN(100); {
	case r < 40:
		return shipment.Registered
	case r < 65:
		return shipment.PickedUp
	case r < 82:
		return shipment.InTransit
	case r < 98:
		return shipment.OutForDelivery
	}
	return shipment.Delivered
}

// applyCommand is what the worker does with one command, in one transaction:
// the inbox, the idempotency key, the kind's decision, the record. Business
// failures are recorded as failed operations.
func applyCommand(ctx context.Context, tx store.WriteTx, c workCommand) error {
	if _, found, err := tx.Operation(ctx, c.opID); err != nil || found {
		return err // found: a redelivery, applied already
	}
	op := operation.Operation{ID: c.opID, Kind: string(c.kind.Kind), ShipmentID: c.shipmentID,
		CreatedAt: c.at.Add(-time.Millisecond), LastUpdatedAt: c.at}
	var key *store.IdempotencyKey
	if c.keyDigest != "" {
		k, found, err := tx.IdempotencyKey(ctx, c.keyDigest)
		if err != nil {
			return err
		}
		if found && k.RequestDigest != c.requestDigest {
			op.Status, op.Error = operation.Failed, &operation.Error{
				Code: operation.CodeIdempotencyKeyReused, Message: "the key was used for another request"}
			return tx.Record(ctx, store.Record{Operation: op})
		}
		if !found {
			key = &store.IdempotencyKey{KeyDigest: c.keyDigest, RequestDigest: c.requestDigest, OperationID: c.opID}
		}
	}
	cur, exists, err := tx.Shipment(ctx, c.shipmentID)
	if err != nil {
		return err
	}
	cmd := command.Command{OperationID: c.opID, ShipmentID: c.shipmentID, Kind: c.kind.Kind, Payload: c.payload, IfMatch: c.ifMatch}
	next, change, err := c.kind.Decide(cmd, cur, exists, c.at)
	if err != nil {
		e, ok := operation.ErrorFor(err)
		if !ok {
			return err
		}
		op.Status, op.Error = operation.Failed, e
		return tx.Record(ctx, store.Record{Operation: op, IdempotencyKey: key})
	}
	op.Status, op.ResourceVersion = operation.Succeeded, next.Version
	return tx.Record(ctx, store.Record{Operation: op, Shipment: &next, Change: change, IdempotencyKey: key})
}

// runProjector drains the feed into the projection in batches of random
// size while the writers run, then to the end once they are done. It returns
// how many entries it applied.
func runProjector(ctx context.Context, db WriteDB, p ProjectionDB, writersDone <-chan struct{}, seed uint64) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 99))
	applied := 0
	for {
		var done bool
		select {
		case <-writersDone:
			done = true // whatever the next read finds is all there is
		default:
		}
		cp, err := p.Checkpoint(ctx)
		if err != nil {
			return applied, err
		}
		checkpoint := cp.Position
		head, err := db.Head(ctx)
		if err != nil {
			return applied, err
		}
		changes, err := db.ReadChanges(ctx, checkpoint, 1+rng.IntN(400))
		if err != nil {
			return applied, err
		}
		if len(changes) == 0 {
			if done {
				return applied, nil
			}
			select { // poll again soon, or at once when the writers finish
			case <-writersDone:
			case <-time.After(2 * time.Millisecond):
			}
			continue
		}
		if changes[0].Position <= checkpoint {
			return applied, fmt.Errorf("ReadChanges(%d) returned position %d: positions must grow", checkpoint, changes[0].Position)
		}
		if err := p.Apply(ctx, changes, head); err != nil {
			return applied, err
		}
		applied += len(changes)
	}
}
