package servicebus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

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
