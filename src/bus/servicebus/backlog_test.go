package servicebus

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

type fakeRuntime struct {
	resp  *admin.GetQueueRuntimePropertiesResponse
	err   error
	asked string
}

func (f *fakeRuntime) GetQueueRuntimeProperties(_ context.Context, queue string, _ *admin.GetQueueRuntimePropertiesOptions) (*admin.GetQueueRuntimePropertiesResponse, error) {
	f.asked = queue
	return f.resp, f.err
}

func TestBacklog(t *testing.T) {
	tb := newTestBus(t, Config{Queue: "q1"})
	if _, err := tb.Backlog(t.Context()); err == nil {
		t.Fatal("Backlog with no management client: nil error")
	}
	f := &fakeRuntime{resp: &admin.GetQueueRuntimePropertiesResponse{QueueRuntimeProperties: admin.QueueRuntimeProperties{
		ActiveMessageCount: 42, DeadLetterMessageCount: 7, TotalMessageCount: 49}}}
	tb.runtime = func() (runtimeGetter, error) { return f, nil }
	b, err := tb.Backlog(t.Context())
	if err != nil || b != (bus.Backlog{Messages: 42}) || f.asked != "q1" {
		t.Errorf("Backlog = %+v, %v (asked %q); want 42 active messages of q1, dead letters not counted", b, err, f.asked)
	}
	f.resp = nil
	if _, err := tb.Backlog(t.Context()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Backlog of a missing queue: %v", err)
	}
	f.err = errors.New("401 Unauthorized: Manage claim required")
	if _, err := tb.Backlog(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "servicebus: ") {
		t.Errorf("Backlog without the right: %v; want the adapter's error", err)
	}
}

// countingRuntime counts the reads.
type countingRuntime struct {
	fakeRuntime
	calls int
}

func (c *countingRuntime) GetQueueRuntimeProperties(ctx context.Context, q string, o *admin.GetQueueRuntimePropertiesOptions) (*admin.GetQueueRuntimePropertiesResponse, error) {
	c.calls++
	return c.fakeRuntime.GetQueueRuntimeProperties(ctx, q, o)
}

func gatherQueue(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "dropoff_queue_") {
			got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return got
}

// The queue's depth is exported where the identity may read it; refused for
// want of the Manage right, the collector turns itself off after one try.
func TestDepthMetrics(t *testing.T) {
	tb := newTestBus(t, Config{Queue: "q1"})
	f := &countingRuntime{fakeRuntime: fakeRuntime{resp: &admin.GetQueueRuntimePropertiesResponse{
		QueueRuntimeProperties: admin.QueueRuntimeProperties{ActiveMessageCount: 12, DeadLetterMessageCount: 3}}}}
	tb.runtime = func() (runtimeGetter, error) { return f, nil }
	reg := prometheus.NewRegistry()
	reg.MustRegister(newDepthCollector(tb.Bus))
	if got := gatherQueue(t, reg); got["dropoff_queue_messages"] != 12 || got["dropoff_queue_dead_letters"] != 3 {
		t.Errorf("metrics = %v; want 12 messages and 3 dead letters", got)
	}

	f.err = &azcore.ResponseError{StatusCode: http.StatusUnauthorized, ErrorCode: "401"}
	calls := f.calls
	for range 3 {
		if got := gatherQueue(t, reg); len(got) != 0 {
			t.Errorf("metrics without the right = %v; want none", got)
		}
	}
	if f.calls != calls+1 {
		t.Errorf("%d reads after the refusal, want 1: the collector should turn itself off", f.calls-calls)
	}
}
