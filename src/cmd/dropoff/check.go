package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// check compares the projection with the write database, shipment by
// shipment, and says whether they agree: for an operator after a restore or
// a projection rebuild, and for dropoff load, which runs the same comparison
// at the end of a run. The projector must have caught up (writes stopped,
// or the lag at 0), or the shipments it has yet to apply count as
// differences.
func check(ctx context.Context, c config, logger *slog.Logger, stdout io.Writer) error {
	open := opener{c: c, auth: &azureAuth{c: c}, logger: logger}
	w, err := open.writeDB(ctx, database{name: "write database", setting: c.WriteDB, env: "DROPOFF_WRITE_DB",
		file: "write.db", conns: 2})
	if err != nil {
		return err
	}
	defer w.Close()
	p, err := open.projectionDB(ctx, database{name: "projection database", setting: c.ReadDB, env: "DROPOFF_READ_DB",
		file: "read.db", conns: 2})
	if err != nil {
		return err
	}
	defer p.Close()
	diff, err := compareProjection(ctx, w, p)
	if err != nil {
		return err
	}
	if diff > 0 {
		return fmt.Errorf("check: %d shipments differ between the projection and the write database", diff)
	}
	fmt.Fprintln(stdout, "check: the projection agrees with the write database")
	return nil
}

// compareProjection lists every live shipment of the write database and of
// the projection, side by side, and counts the ids whose rows differ or that
// only one side has.
func compareProjection(ctx context.Context, w store.WriteStore, p store.Queries) (int, error) {
	const page = 500
	wants := map[string]shipment.Shipment{}
	for after := ""; ; {
		items, err := w.Shipments(ctx, after, page)
		if err != nil {
			return 0, fmt.Errorf("list write database: %w", err)
		}
		for _, s := range items {
			wants[s.ID] = s
		}
		if len(items) < page {
			break
		}
		after = items[len(items)-1].ID
	}
	diff := 0
	for q := (store.ListQuery{Limit: page}); ; {
		items, more, err := p.Shipments(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("list projection: %w", err)
		}
		for _, got := range items {
			want, ok := wants[got.ID]
			delete(wants, got.ID)
			if !ok || !sameShipment(want, got) {
				diff++
			}
		}
		if !more || len(items) == 0 {
			break
		}
		q.After = items[len(items)-1].ID
	}
	return diff + len(wants), nil
}

// sameShipment compares what both databases keep of a shipment.
func sameShipment(a, b shipment.Shipment) bool {
	return a.ID == b.ID && a.Recipient == b.Recipient && a.Destination == b.Destination &&
		a.WeightGrams == b.WeightGrams && a.Service == b.Service && a.Status == b.Status &&
		a.Version == b.Version && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}
