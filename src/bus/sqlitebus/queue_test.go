package sqlitebus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

func TestSettingsDefaults(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	want := bus.Settings{
		MaxDeliveryCount:       10,
		LockDuration:           30 * time.Second,
		DuplicateWindow:        10 * time.Minute,
		DefaultTimeToLive:      24 * time.Hour,
		DeadLetterOnExpiration: true,
	}
	if diff := cmp.Diff(want, q.Settings()); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

func TestOpenRejectsNegativeConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sqlitebus.Config
	}{
		{"MaxDeliveryCount", sqlitebus.Config{MaxDeliveryCount: -1}},
		{"LockDuration", sqlitebus.Config{LockDuration: -time.Second}},
		{"DuplicateWindow", sqlitebus.Config{DuplicateWindow: -time.Second}},
		{"DefaultTimeToLive", sqlitebus.Config{DefaultTimeToLive: -time.Second}},
		{"PollInterval", sqlitebus.Config{PollInterval: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := sqlitebus.Open(tempPath(t), tc.cfg)
			if err == nil {
				q.Close()
				t.Fatalf("open with negative %s: got no error", tc.name)
			}
		})
	}
}

func TestSendRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	noSession := msg("", "a", "x")
	negativeTTL := msg("s", "b", "x")
	negativeTTL.TimeToLive = -time.Second
	for _, m := range []bus.Message{noSession, negativeTTL} {
		// A valid message in the same call is not stored either.
		if err := q.Send(t.Context(), msg("s", "ok-"+m.ID, "x"), m); err == nil {
			t.Errorf("send %+v: got no error", m)
		}
	}
	expectNoSession(t, q)
}

// A message whose Send returned is on disk: it survives closing and reopening
// the file, and so does the dead-letter queue.
func TestSendSurvivesReopen(t *testing.T) {
	t.Parallel()
	path := tempPath(t)
	q, err := sqlitebus.Open(path, sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, q, msg("s1", "a", "1"), msg("s1", "b", "2"))
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := q.Send(t.Context(), msg("s1", "c", "3")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("send after close: got %v, want %v", err, bus.ErrClosed)
	}

	q = openQueue(t, path, sqlitebus.Config{})
	s := accept(t, q)
	got := receive(t, s, 2)
	if diff := cmp.Diff([]string{"a#1", "b#1"}, describe(got)); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

// Two Queue values on one file behave as two processes: a message sent
// through one is received through the other, and a session is never held by
// both, even as sessions change hands many times.
func TestTwoQueuesShareOneFile(t *testing.T) {
	t.Parallel()
	const sessions, perSession = 6, 20
	path := tempPath(t)
	cfg := sqlitebus.Config{PollInterval: 10 * time.Millisecond}
	queues := []*sqlitebus.Queue{openQueue(t, path, cfg), openQueue(t, path, cfg)}
	for j := range perSession {
		for i := range sessions {
			mustSend(t, queues[(i+j)%2], msg(fmt.Sprint("s", i), fmt.Sprintf("s%d-%02d", i, j), ""))
		}
	}
	h := &handover{holder: map[string]int{}, got: map[string][]string{}}
	ctx, cancel := context.WithTimeout(t.Context(), 4*wait)
	defer cancel()
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() { h.work(ctx, t, queues[r%2], r, sessions*perSession) })
	}
	wg.Wait()
	for i := range sessions {
		id := fmt.Sprint("s", i)
		var want []string
		for j := range perSession {
			want = append(want, fmt.Sprintf("s%d-%02d", i, j))
		}
		if diff := cmp.Diff(want, h.got[id]); diff != "" {
			t.Errorf("session %s (-sent +received):\n%s", id, diff)
		}
	}
}

// handover is shared by receivers that take a session, handle a few of its
// messages and hand it back, so that sessions move between the two queues.
type handover struct {
	mu     sync.Mutex
	holder map[string]int // session → receiver holding it
	got    map[string][]string
	total  int
}

func (h *handover) work(ctx context.Context, t *testing.T, q *sqlitebus.Queue, me, want int) {
	for h.received() < want && ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		s, err := q.AcceptNextSession(actx)
		cancel()
		if err != nil {
			continue
		}
		h.mu.Lock()
		if other, ok := h.holder[s.ID()]; ok {
			t.Errorf("session %s accepted by receiver %d while receiver %d holds it", s.ID(), me, other)
		}
		h.holder[s.ID()] = me
		h.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		msgs, _ := s.Receive(rctx, 3)
		cancel()
		for _, m := range msgs {
			if err := s.Complete(ctx, m); err != nil {
				t.Errorf("complete %s: %v", m.ID, err)
			}
		}
		h.mu.Lock()
		for _, m := range msgs {
			h.got[s.ID()] = append(h.got[s.ID()], m.ID)
		}
		h.total += len(msgs)
		delete(h.holder, s.ID()) // before Close: once closed, another may take it
		h.mu.Unlock()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close session %s: %v", s.ID(), err)
		}
	}
}

func (h *handover) received() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Close ends every goroutine the queue started — the writer, each session's
// renewal — and makes calls waiting on it return bus.ErrClosed. Not parallel:
// it counts the process's goroutines.
func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	q, err := sqlitebus.Open(tempPath(t), sqlitebus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, q, msg("a", "1", ""), msg("b", "2", ""))
	held := []bus.Session{accept(t, q), accept(t, q)}
	receive(t, held[0], 1)

	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, err := held[0].Receive(t.Context(), 1); errs <- err })
	wg.Go(func() { _, err := q.AcceptNextSession(t.Context()); errs <- err })
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// The queue's own goroutines are gone the moment Close returns...
	stacks := make([]byte, 1<<20)
	stacks = stacks[:runtime.Stack(stacks, true)]
	for _, f := range []string{"(*Queue).writeLoop", "(*session).renewLoop"} {
		if bytes.Contains(stacks, []byte("sqlitebus."+f)) {
			t.Errorf("%s still running after Close", f)
		}
	}
	wg.Wait()
	for range 2 {
		if err := <-errs; !errors.Is(err, bus.ErrClosed) {
			t.Errorf("call waiting during Close: got %v, want %v", err, bus.ErrClosed)
		}
	}
	// ...and the database's soon after (database/sql does not wait for them).
	eventually(t, "goroutines back to the count before Open", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// Concurrent sends share commits (group commit), and each still returns only
// once its message is stored. Not parallel, so that it has the writer's
// attention to itself.
func TestConcurrentSendsShareCommits(t *testing.T) {
	const senders, each = 64, 10
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			<-start
			for i := range each {
				if err := q.Send(t.Context(), msg(fmt.Sprint("s", s), fmt.Sprintf("%d-%d", s, i), "")); err != nil {
					t.Errorf("send: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if got, limit := q.Commits(), int64(senders*each/2); got > limit {
		t.Errorf("commits for %d concurrent sends: got %d, want at most %d", senders*each, got, limit)
	}
}

// Commits counts only transactions that wrote: looking for work finds none
// and commits nothing.
func TestCommitsCountOnlyWrites(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	mustSend(t, q, msg("s", "a", ""))
	if got := q.Commits(); got != 1 {
		t.Errorf("commits after one send: got %d, want 1", got)
	}
	s := accept(t, q)
	expectNoSession(t, q)
	if got := q.Commits(); got != 2 {
		t.Errorf("commits after accepting one session and looking for another: got %d, want 2", got)
	}
	_ = s
}

// AcceptNextSession takes the free session whose oldest message has waited
// longest; a released session queues up again by its oldest message left.
func TestAcceptOldestFirst(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	mustSend(t, q, msg("s1", "a", ""), msg("s2", "b", ""), msg("s1", "c", ""))
	first := accept(t, q)
	if first.ID() != "s1" {
		t.Fatalf("first session: got %s, want s1", first.ID())
	}
	if err := first.Complete(t.Context(), receive(t, first, 1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if next := accept(t, q); next.ID() != "s2" {
		t.Errorf("after s1 released with only c left: got %s, want s2 (b is older)", next.ID())
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Registerer: reg})
	mustSend(t, q, msg("s", "a", ""), msg("s", "a", "duplicate"), msg("s", "b", ""))
	s := accept(t, q)
	m := receive(t, s, 1)[0]
	if err := s.DeadLetter(t.Context(), m, "Poison", "test"); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP dropoff_sqlitebus_dead_lettered_total Messages moved to the dead-letter queue, by reason (application reasons count as "application").
# TYPE dropoff_sqlitebus_dead_lettered_total counter
dropoff_sqlitebus_dead_lettered_total{reason="application"} 1
# HELP dropoff_sqlitebus_messages_sent_total Messages stored (duplicates dropped are not counted).
# TYPE dropoff_sqlitebus_messages_sent_total counter
dropoff_sqlitebus_messages_sent_total 2
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"dropoff_sqlitebus_messages_sent_total", "dropoff_sqlitebus_dead_lettered_total")
	if err != nil {
		t.Error(err)
	}
}
