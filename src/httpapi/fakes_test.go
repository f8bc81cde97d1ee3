package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// fakeSender records what it is sent; err makes Send fail.
type fakeSender struct {
	mu   sync.Mutex
	msgs []bus.Message
	err  error
}

func (s *fakeSender) Send(_ context.Context, msgs ...bus.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.msgs = append(s.msgs, msgs...)
	return nil
}

func (s *fakeSender) sent() []bus.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// fakeQueries is an in-memory projection; err makes every method fail, and
// panicOn makes Shipment panic for that id.
type fakeQueries struct {
	shipments map[string]shipment.Shipment
	history   map[string][]store.HistoryEntry
	ops       map[string]operation.Operation
	stats     store.Stats
	err       error
	panicOn   string

	mu       sync.Mutex
	lastList store.ListQuery
}

func newFakeQueries() *fakeQueries {
	return &fakeQueries{
		shipments: map[string]shipment.Shipment{},
		history:   map[string][]store.HistoryEntry{},
		ops:       map[string]operation.Operation{},
	}
}

func (q *fakeQueries) Shipment(_ context.Context, id string) (shipment.Shipment, bool, error) {
	if id == q.panicOn {
		panic("fake: shipment " + id)
	}
	s, ok := q.shipments[id]
	return s, ok, q.err
}

func (q *fakeQueries) Shipments(_ context.Context, lq store.ListQuery) ([]shipment.Shipment, bool, error) {
	q.mu.Lock()
	q.lastList = lq
	q.mu.Unlock()
	if q.err != nil {
		return nil, false, q.err
	}
	var ids []string
	for id, s := range q.shipments {
		if id > lq.After && (lq.Status == "" || s.Status == lq.Status) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var items []shipment.Shipment
	for _, id := range ids[:min(len(ids), lq.Limit)] {
		items = append(items, q.shipments[id])
	}
	return items, len(ids) > lq.Limit, nil
}

func (q *fakeQueries) History(_ context.Context, id string) ([]store.HistoryEntry, bool, error) {
	h, ok := q.history[id]
	return h, ok, q.err
}

func (q *fakeQueries) Operation(_ context.Context, id string) (operation.Operation, bool, error) {
	op, ok := q.ops[id]
	return op, ok, q.err
}

func (q *fakeQueries) RecentOperations(_ context.Context, limit int) ([]operation.Operation, error) {
	if q.err != nil {
		return nil, q.err
	}
	ops := slices.Collect(maps.Values(q.ops))
	slices.SortFunc(ops, func(a, b operation.Operation) int {
		if c := b.LastUpdatedAt.Compare(a.LastUpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return ops[:min(limit, len(ops))], nil
}

// Stats is also read by the Projection-Lag sampler in the background: its
// fields are set with setStats.
func (q *fakeQueries) Stats(context.Context) (store.Stats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats, q.err
}

func (q *fakeQueries) setErr(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = err
}

func (q *fakeQueries) setStats(st store.Stats) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stats = st
}
func (q *fakeQueries) Ping(context.Context) error { return q.err }

// fakeDeadLetters is an in-memory dead-letter queue.
type fakeDeadLetters struct {
	mu          sync.Mutex
	msgs        []*bus.ReceivedMessage // in sequence order
	resubmitted []int64
	err         error
}

func (d *fakeDeadLetters) PeekDeadLetters(_ context.Context, from int64, max int) ([]*bus.ReceivedMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	var out []*bus.ReceivedMessage
	for _, m := range d.msgs {
		if m.SequenceNumber >= from && len(out) < max {
			out = append(out, m)
		}
	}
	return out, nil
}

func (d *fakeDeadLetters) ResubmitDeadLetter(_ context.Context, seq int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	i := slices.IndexFunc(d.msgs, func(m *bus.ReceivedMessage) bool { return m.SequenceNumber == seq })
	if i < 0 {
		return bus.ErrNotFound
	}
	d.msgs = slices.Delete(d.msgs, i, i+1)
	d.resubmitted = append(d.resubmitted, seq)
	return nil
}

func (d *fakeDeadLetters) PurgeDeadLetters(context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return 0, d.err
	}
	n := len(d.msgs)
	d.msgs = nil
	return n, nil
}

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness is a handler built over fakes, with every part enabled.
type harness struct {
	handler http.Handler
	sender  *fakeSender
	queries *fakeQueries
	dead    *fakeDeadLetters
	reg     *prometheus.Registry
}

// newHarness builds the handler; edit may change the Config first.
func newHarness(t *testing.T, edit ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sender: &fakeSender{}, queries: newFakeQueries(), dead: &fakeDeadLetters{},
		reg: prometheus.NewRegistry()}
	hub, err := live.New(live.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Sender: h.sender, Queries: h.queries, DeadLetters: h.dead, Registry: h.reg, Live: hub,
		Now:   func() time.Time { return testNow },
		NewID: func() (string, error) { return v7At(testNow), nil },
	}
	for _, e := range edit {
		e(&cfg)
	}
	handler, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.handler = handler
	return h
}

// req describes one request; header values are set as given.
type req struct {
	method, target, body string
	header               map[string]string
	remote               string // RemoteAddr; default 192.0.2.1:1234 (not loopback)
	hideLength           bool   // send the body with no Content-Length
}

func (h *harness) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.hideLength {
		body = io.MultiReader(body) // httptest only sets the length of known reader types
	}
	hr := httptest.NewRequest(r.method, r.target, body)
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	return serve(t, h.handler, hr)
}

// jsonHeader is the usual header of a command body.
var jsonHeader = map[string]string{"Content-Type": "application/json"}

// decode unmarshals a response body, failing the test if it is not JSON.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode response %q: %v", w.Body.String(), err)
	}
	return v
}

// checkProblem asserts w is a problem with the given status and, when field
// is not empty, that the problem names field among its errors.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int, field string) Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status: got %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if got := w.Header().Get("Content-Type"); got != ProblemContentType {
		t.Errorf("Content-Type: got %q, want %q", got, ProblemContentType)
	}
	p := decode[Problem](t, w)
	if p.Status != status {
		t.Errorf("problem status: got %d, want %d", p.Status, status)
	}
	if p.Type == "" || p.Title == "" {
		t.Errorf("problem type/title: got %q/%q, want both set", p.Type, p.Title)
	}
	if field != "" && !slices.ContainsFunc(p.Errors, func(e shipment.FieldError) bool { return e.Field == field }) {
		t.Errorf("problem errors: got %+v, want one naming %q", p.Errors, field)
	}
	return p
}

// v7At returns a UUIDv7 made at t, as operation.NewID would have.
func v7At(t time.Time) string {
	u := uuid.New() // random bits for the rest
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}
