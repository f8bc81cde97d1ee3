package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// CommandSender puts commands on the queue. It is bus.Sender's one method:
// Send returns nil only once every message is durably stored.
type CommandSender interface {
	Send(ctx context.Context, msgs ...bus.Message) error
}

// sendTimeout bounds how long a request waits for its sink (the queue)
// before it gets a 503: long enough for the SDK's own retries, short of the
// server's timeouts.
const sendTimeout = 15 * time.Second

// commands serves the command kinds' routes (command.Specs): PUT, PATCH and
// DELETE /v1/shipments/{id}. It checks what needs no state and hands the
// command to its sink: the queue (202), or another way of applying it.
type commands struct {
	sink    CommandSink
	now     func() time.Time
	newID   func() (string, error)
	metrics *metrics
	shed    *shedder // nil: never shed
}

// routes gives every command kind its route.
func (h *commands) routes(r gin.IRoutes) {
	for _, spec := range command.Specs() {
		r.Handle(spec.Method, spec.Path, func(c *gin.Context) { h.handle(c, spec) })
	}
}

// handle is every command's path: read and check the common parts and the
// kind's payload, give the command its id, hand it to the sink, and answer
// only once the sink has returned: the command is safe.
func (h *commands) handle(c *gin.Context, spec command.Spec) {
	cmd, err := h.newCommand(c, spec)
	if err == nil {
		cmd.AcceptedAt = h.now().UTC()
		cmd.OperationID, err = h.operationID(cmd)
	}
	if err != nil {
		h.reject(c, err)
		return
	}
	if h.shed != nil {
		if why, over := h.shed.over(); over {
			p := h.shed.problem(why)
			h.metrics.rejected.WithLabelValues(p.Slug()).Inc()
			writeProblem(c, p)
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), sendTimeout)
	defer cancel()
	op, err := h.sink.Accept(ctx, cmd)
	if err != nil {
		h.reject(c, err)
		return
	}
	h.metrics.accepted.WithLabelValues(string(cmd.Kind)).Inc()
	if h.shed != nil {
		h.shed.accepted()
	}
	loc := operationPath(op.ID)
	c.Header("Location", loc)
	status := http.StatusOK // applied at once: the body is the result
	if op.Status == operation.NotStarted {
		status = http.StatusAccepted
		c.Header("Operation-Location", loc)
		c.Header("Retry-After", "1")
	}
	writeJSON(c, status, mediaJSON, operationJSON(op))
}

// payload reads and decodes the kind's body; a kind without a body reads
// none (one sent anyway is not read).
func payload(c *gin.Context, spec command.Spec) (command.Payload, error) {
	if len(spec.Media) == 0 {
		return nil, nil
	}
	body, err := readBody(c, spec.Media...)
	if err != nil {
		return nil, err
	}
	return spec.Decode(body)
}

// newCommand reads what every command has: the shipment id from the path,
// If-Match and Idempotency-Key from the headers; then the kind's payload.
// (The caller's traceparent is the request span's parent: see tracing.go.)
func (h *commands) newCommand(c *gin.Context, spec command.Spec) (command.Command, error) {
	cmd := command.Command{Kind: spec.Kind, ShipmentID: c.Param("id")}
	if err := shipment.ValidateID(cmd.ShipmentID); err != nil {
		return cmd, err
	}
	var err error
	if cmd.IfMatch, err = parseIfMatch(c.Request.Header); err != nil {
		return cmd, err
	}
	if cmd.IdempotencyKey, err = parseIdempotencyKey(c.Request.Header); err != nil {
		return cmd, err
	}
	cmd.Payload, err = payload(c, spec)
	return cmd, err
}

// operationID gives a command its operation id: a fresh UUIDv7, or, with an
// Idempotency-Key, one derived from the key and the request (see doc.go).
func (h *commands) operationID(cmd command.Command) (string, error) {
	if cmd.IdempotencyKey == "" {
		id, err := h.newID()
		if err != nil {
			return "", fmt.Errorf("new operation id: %w", err)
		}
		return id, nil
	}
	digest, err := cmd.Digest()
	if err != nil {
		return "", fmt.Errorf("digest command: %w", err)
	}
	return operation.KeyedID(cmd.IdempotencyKey, digest), nil
}

// reject answers with the problem err maps to and counts it by type.
func (h *commands) reject(c *gin.Context, err error) {
	p := fail(c, err)
	h.metrics.rejected.WithLabelValues(p.Slug()).Inc()
}
