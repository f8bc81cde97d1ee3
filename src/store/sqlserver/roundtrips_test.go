package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Round trips, counted without a server: a driver that answers every request
// at once (no rows for a lookup, one row for the checkpoint, one row affected
// by a write) and counts what the store sends. With go-mssqldb each of these
// is one request to the server and one wait for its answer: a BEGIN, a
// COMMIT, and each Exec or Query (a batch of any number of statements).
// docs/performance.md reports these counts.

type tripCounter struct {
	mu      sync.Mutex
	trips   int      // requests: begin, commit, rollback, exec, query
	batches []string // the SQL text of each exec and query
}

func (c *tripCounter) add(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trips++
	if query != "" {
		c.batches = append(c.batches, query)
	}
}

func (c *tripCounter) reset() (trips int, batches []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	trips, batches = c.trips, c.batches
	c.trips, c.batches = 0, nil
	return trips, batches
}

// statements counts the T-SQL statements of the batches sent, roughly: the
// DML and control statements that end in a semicolon.
func statements(batches []string) int {
	n := 0
	for _, b := range batches {
		n += strings.Count(sqlComment.ReplaceAllString(b, ""), ";")
	}
	return n
}

func (c *tripCounter) Connect(context.Context) (driver.Conn, error) { return &tripConn{c: c}, nil }
func (c *tripCounter) Driver() driver.Driver                        { return nil }

type tripConn struct{ c *tripCounter }

func (t *tripConn) Prepare(query string) (driver.Stmt, error) {
	return nil, fmt.Errorf("tripConn: Prepare(%q): the store should not prepare", query)
}
func (t *tripConn) Close() error              { return nil }
func (t *tripConn) Begin() (driver.Tx, error) { t.c.add(""); return tripTx{t.c}, nil }
func (t *tripConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return t.Begin()
}
func (t *tripConn) CheckNamedValue(*driver.NamedValue) error { return nil } // take any argument type
func (t *tripConn) ExecContext(_ context.Context, query string, _ []driver.NamedValue) (driver.Result, error) {
	t.c.add(query)
	return driver.RowsAffected(1), nil
}
func (t *tripConn) QueryContext(_ context.Context, query string, _ []driver.NamedValue) (driver.Rows, error) {
	t.c.add(query)
	if strings.Contains(query, "applied_position") {
		return &tripRows{cols: []string{"applied_position"}, rows: [][]driver.Value{{int64(0)}}}, nil
	}
	return &tripRows{cols: []string{"x"}}, nil
}

type tripTx struct{ c *tripCounter }

func (t tripTx) Commit() error   { t.c.add(""); return nil }
func (t tripTx) Rollback() error { t.c.add(""); return nil }

type tripRows struct {
	cols []string
	rows [][]driver.Value
}

func (r *tripRows) Columns() []string { return r.cols }
func (r *tripRows) Close() error      { return nil }
func (r *tripRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}

func tripStores(t *testing.T) (*tripCounter, *WriteStore, *Projection) {
	t.Helper()
	c := &tripCounter{}
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := &WriteStore{db: sql.OpenDB(c), cfg: cfg}
	p := &Projection{db: sql.OpenDB(c), cfg: cfg}
	t.Cleanup(func() { _ = w.Close(); _ = p.Close() })
	return c, w, p
}

// tripCommand does what the worker does for a PUT of a new shipment with an
// Idempotency-Key: look up the operation, the key and the shipment, then
// record the outcome.
func tripCommand(ctx context.Context, w *WriteStore, i int) error {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("ship-%d", i)
	opID := fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", i)
	return w.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
		if _, _, err := tx.Operation(ctx, opID); err != nil {
			return err
		}
		if _, _, err := tx.IdempotencyKey(ctx, fmt.Sprintf("%064d", i)); err != nil {
			return err
		}
		if _, _, err := tx.Shipment(ctx, id); err != nil {
			return err
		}
		s := shipment.Shipment{ID: id, Recipient: "Ada", Destination: "1 Loop Road", WeightGrams: 1200,
			Service: shipment.Standard, Status: shipment.Registered, Version: 1, CreatedAt: now, UpdatedAt: now}
		return tx.Record(ctx, store.Record{
			Operation: operation.Operation{ID: opID, Kind: string(command.KindUpsert), ShipmentID: id,
				Status: operation.Succeeded, ResourceVersion: 1, CreatedAt: now, LastUpdatedAt: now},
			Shipment:       &s,
			Change:         shipment.Created,
			IdempotencyKey: &store.IdempotencyKey{KeyDigest: fmt.Sprintf("%064d", i), RequestDigest: "r", OperationID: opID},
		})
	})
}

// tripBatch is n feed entries, each a new shipment's.
func tripBatch(n int) []store.Change {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	out := make([]store.Change, n)
	for i := range out {
		id := fmt.Sprintf("ship-%d", i)
		out[i] = store.Change{Position: int64(i + 1), CommittedAt: now, Change: shipment.Created,
			Operation: operation.Operation{ID: fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", i), Kind: string(command.KindUpsert),
				ShipmentID: id, Status: operation.Succeeded, ResourceVersion: 1, CreatedAt: now, LastUpdatedAt: now},
			Shipment: &shipment.Shipment{ID: id, Recipient: "Ada", Destination: "1 Loop Road", WeightGrams: 1200,
				Service: shipment.Standard, Status: shipment.Registered, Version: 1, CreatedAt: now, UpdatedAt: now}}
	}
	return out
}

// TestRoundTrips counts the requests of one command and of projection
// batches, and holds them to what docs/performance.md reports.
func TestRoundTrips(t *testing.T) {
	c, w, p := tripStores(t)
	if err := tripCommand(t.Context(), w, 1); err != nil {
		t.Fatal(err)
	}
	trips, batches := c.reset()
	t.Logf("one command: %d round trips, %d statements", trips, statements(batches))
	// begin, the three lookups, the record, commit
	if trips != 6 {
		t.Errorf("one command: %d round trips, want 6 (begin, 3 lookups, 1 record batch, commit)", trips)
	}

	for _, n := range []int{1, 256} {
		if err := p.Apply(t.Context(), tripBatch(n), int64(n)); err != nil {
			t.Fatal(err)
		}
		trips, batches := c.reset()
		t.Logf("a batch of %d entries: %d round trips, %d statements", n, trips, statements(batches))
		if trips != 3 {
			t.Errorf("a batch of %d: %d round trips, want 3 (begin, the batch, commit) whatever its size", n, trips)
		}
	}
}

// TestApplyDocument: the JSON applySQL reads carries every field, positions
// as text, times as DATETIME2 reads them, and nulls for a missing shipment.
func TestApplyDocument(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	batch := tripBatch(2)
	batch[0].Position = 1<<62 + 1
	batch[0].CommittedAt = now
	batch[1].Shipment = nil
	batch[1].Operation.Error = &operation.Error{Code: operation.CodeNotFound, Message: "no \"such\" shipment"}
	doc, err := applyDocument(batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	if got[0]["p"] != "4611686018427387905" || got[0]["at"] != "2026-12-01T11:00:00.1234567" {
		t.Errorf("position %v, committed at %v; want the exact position as text, the time in UTC to 100 ns", got[0]["p"], got[0]["at"])
	}
	if got[0]["hs"] != true || got[0]["s"] != "ship-0" || got[0]["sx"] != false || got[0]["sw"] != float64(1200) || got[0]["ec"] != nil {
		t.Errorf("entry with a shipment: %v", got[0])
	}
	for _, k := range []string{"s", "sr", "sd", "sw", "ss", "sst", "sv", "sx", "sc", "su"} {
		if v, ok := got[1][k]; !ok || v != nil {
			t.Errorf("entry without a shipment: %s = %v (present %v), want null", k, v, ok)
		}
	}
	if got[1]["hs"] != false || got[1]["ec"] != "NotFound" || got[1]["em"] != `no "such" shipment` {
		t.Errorf("entry without a shipment: %v", got[1])
	}
	// Every key the document has is one applySQL reads, and the other way round.
	for k := range got[0] {
		if !strings.Contains(applySQL, "'$."+k+"'") {
			t.Errorf("key %q is not read by applySQL", k)
		}
	}
	if n := strings.Count(applySQL, "'$."); n != len(got[0]) {
		t.Errorf("applySQL reads %d keys, the document has %d", n, len(got[0]))
	}
}
