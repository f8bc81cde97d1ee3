package sqlitebus_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/internal/cputime"
)

// Run with: go test -run XXX -bench . -benchtime 2s ./src/bus/sqlitebus/
// Every send is durable (committed with fsync) before Send returns.

func BenchmarkSend1(b *testing.B)  { benchmarkSend(b, 1) }
func BenchmarkSend64(b *testing.B) { benchmarkSend(b, 64) }

// benchmarkSend sends b.N messages of 200 bytes, one per Send call, from
// senders goroutines, each to its own session.
func benchmarkSend(b *testing.B, senders int) {
	q := openQueue(b, filepath.Join(b.TempDir(), "bus.db"), sqlitebus.Config{})
	body := make([]byte, 200)
	var next atomic.Int64
	var wg sync.WaitGroup
	commits, cpu := q.Commits(), cputime.Used()
	b.ResetTimer()
	start := time.Now()
	for s := range senders {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				m := bus.Message{ID: fmt.Sprintf("m-%d", i), SessionID: fmt.Sprintf("s-%d", s), Body: body}
				if err := q.Send(context.Background(), m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(b.N)/float64(q.Commits()-commits), "sends/commit")
	b.ReportMetric(float64((cputime.Used()-cpu).Microseconds())/float64(b.N), "cpu-µs/send")
}

// BenchmarkReceiveComplete100Sessions receives and completes b.N messages,
// spread over 100 sessions, with one receiver per session, as a worker with
// 100 concurrent sessions would.
func BenchmarkReceiveComplete100Sessions(b *testing.B) {
	q := openQueue(b, filepath.Join(b.TempDir(), "bus.db"), sqlitebus.Config{})
	sessions := min(100, b.N)
	counts := fill(b, q, sessions)
	commits, cpu := q.Commits(), cputime.Used()
	var received atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range sessions {
		wg.Go(func() { drainOne(b, q, counts, &received) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if got := received.Load(); got != int64(b.N) {
		b.Fatalf("received %d messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(q.Commits()-commits), "msgs/commit")
	b.ReportMetric(float64((cputime.Used()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
}

// fill sends b.N messages round-robin over sessions, in batches, and
// returns how many each session got.
func fill(b *testing.B, q *sqlitebus.Queue, sessions int) map[string]int {
	b.Helper()
	counts := map[string]int{}
	body := make([]byte, 200)
	batch := make([]bus.Message, 0, 500)
	for i := range b.N {
		m := bus.Message{ID: fmt.Sprintf("m-%d", i), SessionID: fmt.Sprintf("s-%d", i%sessions), Body: body}
		counts[m.SessionID]++
		batch = append(batch, m)
		if len(batch) == cap(batch) || i == b.N-1 {
			if err := q.Send(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return counts
}

// drainOne accepts a session and receives and completes its messages.
func drainOne(b *testing.B, q *sqlitebus.Queue, counts map[string]int, received *atomic.Int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := q.AcceptNextSession(ctx)
	if err != nil {
		b.Error(err)
		return
	}
	defer s.Close(context.Background())
	for left := counts[s.ID()]; left > 0; {
		msgs, err := s.Receive(ctx, 10)
		if err != nil {
			b.Errorf("receive from %s with %d left: %v", s.ID(), left, err)
			return
		}
		left -= len(msgs)
		for _, m := range msgs {
			if err := s.Complete(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
		received.Add(int64(len(msgs)))
	}
}
