package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/internal/cputime"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
	"github.com/dropoff-dev/dropoff/src/worker"
)

// The worker's throughput against how commands spread over shipments, on the
// embedded queue and write store (fsync on): a backlog of commands is put on
// the queue, then one worker applies it. With few shipments a session carries
// many commands; with many, nearly every command is a session of its own, so
// the per-session work (accept, release) counts per command.
//
//	go test -run '^$' -bench BenchmarkWorkerSpread -benchtime 1x ./src/worker/
func BenchmarkWorkerSpread(b *testing.B) { benchmarkWorkerSpread(b, nil) }

// BenchmarkWorkerSpreadUnsampled is BenchmarkWorkerSpread traced as a
// process is when no OTLP endpoint is set (package telemetry): every message
// and transaction gets a span with ids that is never sampled, so nothing is
// recorded. It must cost no more than no tracing at all.
func BenchmarkWorkerSpreadUnsampled(b *testing.B) {
	benchmarkWorkerSpread(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())))
}

func benchmarkWorkerSpread(b *testing.B, tp trace.TracerProvider) {
	const commands = 20000
	for _, shipments := range []int{200, 2000, 100000} {
		b.Run(fmt.Sprintf("shipments=%d", shipments), func(b *testing.B) {
			for range b.N {
				runBacklog(b, commands, shipments, tp)
			}
		})
	}
}

func runBacklog(b *testing.B, commands, shipments int, tp trace.TracerProvider) {
	b.StopTimer()
	dir := b.TempDir()
	q, err := sqlitebus.Open(filepath.Join(dir, "bus.db"), sqlitebus.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ws, err := sqlite.OpenWriteStore(context.Background(), filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	fill(b, q, commands, shipments)

	ctx, cancel := context.WithCancel(context.Background())
	pace := q.Pacing()
	w, err := worker.New(q, ws, worker.Config{
		AcceptTimeout: pace.AcceptTimeout, IdleTimeout: pace.IdleTimeout, MaxSessionHold: pace.MaxSessionHold,
		TracerProvider: tp,
	})
	if err != nil {
		b.Fatal(err)
	}
	qc, sc, cpu := q.Commits(), ws.Commits(), cputime.Used()
	start := time.Now()
	b.StartTimer()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		head, err := ws.Head(ctx) // one feed entry per applied command
		if err != nil {
			b.Fatal(err)
		}
		if head >= int64(commands) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("applied %d of %d commands in 5 minutes", head, commands)
		}
		time.Sleep(5 * time.Millisecond) // polling the outcome, not waiting in its place
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	n := float64(commands)
	b.ReportMetric(n/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(q.Commits()-qc)/n, "queue-commits/command")
	b.ReportMetric(float64(ws.Commits()-sc)/n, "store-commits/command")
	b.ReportMetric(float64((cputime.Used()-cpu).Microseconds())/n, "cpu-µs/command")
}

// fill puts commands PUTs on q, spread over shipments, a session each.
func fill(b *testing.B, q *sqlitebus.Queue, commands, shipments int) {
	b.Helper()
	fillLanes(b, q, commands, shipments, 0)
}

// BenchmarkCapacity is the capacity model of docs/capacity.md: one worker
// replica over a bus whose every operation waits its Service Bus round trips
// (simulate.Remote) and a write database whose every command waits the six round
// trips SQL Server takes (docs/performance.md), the embedded stores
// underneath. It measures commands applied per second over a window, with a
// backlog spread over 100,000 shipments, for sessions per shipment (with
// Service Bus's 2 s idle hold, and a shorter one) and for lanes.
//
//	go test -run '^$' -bench BenchmarkCapacity -benchtime 1x -timeout 30m ./src/worker/
func BenchmarkCapacity(b *testing.B) {
	type routing struct {
		name  string
		lanes bool
		idle  time.Duration
	}
	for _, rtt := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond} {
		routings := []routing{
			{"shipment-sessions-idle-2s", false, 2 * time.Second},
			{"shipment-sessions-idle-200ms", false, 200 * time.Millisecond},
			{"lanes", true, 2 * time.Second},
		}
		if rtt == 0 { // the embedded queue, with its own pacing
			routings = []routing{{"shipment-sessions-idle-2ms", false, 2 * time.Millisecond}, {"lanes", true, 2 * time.Millisecond}}
		}
		for _, sessions := range []int{64, 256} {
			for _, r := range routings {
				b.Run(fmt.Sprintf("rtt=%v/sessions=%d/%s", rtt, sessions, r.name), func(b *testing.B) {
					for range b.N {
						lanes := 0
						if r.lanes {
							lanes = sessions
						}
						runCapacity(b, rtt, sessions, lanes, r.idle)
					}
				})
			}
		}
	}
}

func runCapacity(b *testing.B, rtt time.Duration, sessions, lanes int, idle time.Duration) {
	b.StopTimer()
	const commands, shipments, window = 40000, 100000, 8 * time.Second
	dir := b.TempDir()
	q, err := sqlitebus.Open(filepath.Join(dir, "bus.db"), sqlitebus.Config{LockDuration: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ws, err := sqlite.OpenWriteStore(context.Background(), filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	fillLanes(b, q, commands, shipments, lanes)
	remote := simulate.Remote{RTT: rtt}
	w, err := worker.New(remote.Receiver(q), simulate.Delayed{WriteStore: ws, Delay: 6 * rtt}, worker.Config{
		MaxSessions: sessions, AcceptTimeout: 30 * time.Second, IdleTimeout: idle, MaxSessionHold: 30 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(ctx) }()
	var applied int64
	for time.Since(start) < window && applied < commands {
		time.Sleep(50 * time.Millisecond) // sampling the outcome, not waiting in its place
		if applied, err = ws.Head(ctx); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(applied)/elapsed.Seconds(), "commands/s")
}

// fillLanes puts commands PUTs on q, spread over shipments, each in its
// shipment's session, or in its lane when lanes > 0.
func fillLanes(b *testing.B, q *sqlitebus.Queue, commands, shipments, lanes int) {
	b.Helper()
	f := shipment.Fields{Recipient: "Ada", Destination: "1 Main St", WeightGrams: 500, Service: shipment.Standard}
	batch := make([]bus.Message, 0, 500)
	for i := range commands {
		id, err := operation.NewID()
		if err != nil {
			b.Fatal(err)
		}
		c := command.Command{OperationID: id, ShipmentID: fmt.Sprintf("ship-%d", (i*7919)%shipments),
			Kind: command.KindUpsert, Payload: f, AcceptedAt: time.Now().UTC()}
		m, err := c.Message()
		if err != nil {
			b.Fatal(err)
		}
		if lanes > 0 {
			m.SessionID = command.Lane(c.ShipmentID, lanes)
		}
		if batch = append(batch, m); len(batch) == cap(batch) || i == commands-1 {
			if err := q.Send(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
