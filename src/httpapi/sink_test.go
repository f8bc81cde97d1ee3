package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// fakeSink applies the commands it is given at once: it records them and
// answers with result, or err.
type fakeSink struct {
	mu     sync.Mutex
	cmds   []command.Command
	result func(command.Command) operation.Operation
	err    error
}

func (a *fakeSink) Accept(_ context.Context, cmd command.Command) (operation.Operation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cmds = append(a.cmds, cmd)
	if a.err != nil {
		return operation.Operation{}, a.err
	}
	return a.result(cmd), nil
}

func (a *fakeSink) applied() []command.Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]command.Command(nil), a.cmds...)
}

// sinkHarness serves the command routes with a sink that applies commands
// at once, instead of a sender.
func sinkHarness(t *testing.T, a *fakeSink) *harness {
	t.Helper()
	return newHarness(t, func(c *Config) { c.Sender, c.Sink = nil, a })
}

func TestSinkAppliedAtOnceAnswersWithResult(t *testing.T) {
	failed := &operation.Error{Code: operation.CodeNotFound, Message: "no such shipment"}
	tests := []struct {
		name string
		req  req
		op   func(command.Command) operation.Operation
		want Operation
	}{
		{"put succeeds", req{method: "PUT", target: "/v1/shipments/s-1", body: validPut,
			header: map[string]string{"Content-Type": "application/json"}},
			func(c command.Command) operation.Operation {
				return operation.Operation{ID: c.OperationID, Kind: string(c.Kind), ShipmentID: c.ShipmentID,
					Status: operation.Succeeded, ResourceVersion: 1, CreatedAt: c.AcceptedAt, LastUpdatedAt: c.AcceptedAt}
			},
			Operation{Status: operation.Succeeded, Kind: string(command.KindUpsert), ResourceLocation: "/v1/shipments/s-1",
				ResourceVersion: 1, CreatedAt: testNow, LastUpdatedAt: testNow}},
		{"delete fails", req{method: "DELETE", target: "/v1/shipments/s-2"},
			func(c command.Command) operation.Operation {
				return operation.Operation{ID: c.OperationID, Kind: string(c.Kind), ShipmentID: c.ShipmentID,
					Status: operation.Failed, Error: failed, CreatedAt: c.AcceptedAt, LastUpdatedAt: c.AcceptedAt}
			},
			Operation{Status: operation.Failed, Kind: string(command.KindDelete), ResourceLocation: "/v1/shipments/s-2",
				Error: failed, CreatedAt: testNow, LastUpdatedAt: testNow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeSink{result: tt.op}
			h := sinkHarness(t, a)
			w := h.do(t, tt.req)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
			}
			cmds := a.applied()
			if len(cmds) != 1 {
				t.Fatalf("applied: got %d commands, want 1", len(cmds))
			}
			want := tt.want
			want.ID = cmds[0].OperationID
			if diff := cmp.Diff(want, decode[Operation](t, w)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := h.sender.sent(); len(got) != 0 {
				t.Errorf("sent %d messages to the bus, want none", len(got))
			}
		})
	}
}

func TestSinkGetsOnlyCheckedCommands(t *testing.T) {
	a := &fakeSink{result: func(command.Command) operation.Operation { return operation.Operation{} }}
	h := sinkHarness(t, a)
	w := h.do(t, req{method: "PUT", target: "/v1/shipments/s-1", body: `{"recipient":""}`,
		header: map[string]string{"Content-Type": "application/json"}})
	if w.Code != http.StatusBadRequest && w.Code != http.StatusUnprocessableEntity {
		t.Errorf("status: got %d, want 400 or 422", w.Code)
	}
	if got := len(a.applied()); got != 0 {
		t.Errorf("applied %d commands, want 0", got)
	}
}

func TestSinkDependencyDown(t *testing.T) {
	a := &fakeSink{err: Unavailable("write database", errors.New("database unreachable"))}
	h := sinkHarness(t, a)
	w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s-1"})
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status: got %d, want 503", w.Code)
	}
}

// A sink's error that is not a dependency's is a bug: 500, not 503.
func TestSinkBugIsInternal(t *testing.T) {
	h := sinkHarness(t, &fakeSink{err: errors.New("nil map")})
	if w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s-1"}); w.Code != http.StatusInternalServerError {
		t.Errorf("status: got %d, want 500", w.Code)
	}
}

func TestSenderAndSinkExcludeEachOther(t *testing.T) {
	if _, err := New(Config{Sender: &fakeSender{}, Sink: &fakeSink{}}); err == nil {
		t.Error("New took both a Sender and a Sink")
	}
}
