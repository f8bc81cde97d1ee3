package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// This file is the synchronous baseline: the same command routes, the same
// checks, the same operation ids, but the command is applied to the write
// database inside the request and the client gets its result at once —
// 200 with the operation Succeeded or Failed — instead of a 202 receipt.
// Dropoff does not recommend it; it exists so that `dropoff load --compare`
// can show what the queue buys (an answer whose latency does not depend on
// the database) and what it costs (the result comes later).

// CommandApplier applies a command in one write transaction and returns its
// outcome: a business failure is an operation with status Failed, not an
// error; an error means nothing was kept. Safe for concurrent use.
type CommandApplier interface {
	Apply(ctx context.Context, cmd command.Command) (operation.Operation, error)
}

// applyNow applies a checked command inline and answers 200 with the
// operation it ended in.
func (h *commands) applyNow(c *gin.Context, cmd command.Command) {
	var err error
	cmd.AcceptedAt = h.now().UTC()
	if cmd.OperationID, err = h.operationID(cmd); err != nil {
		h.reject(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), sendTimeout)
	defer cancel()
	op, err := h.applier.Apply(ctx, cmd)
	if err != nil {
		h.reject(c, unavailable("write database", fmt.Errorf("apply %s %s: %w", cmd.Kind, cmd.OperationID, err)))
		return
	}
	h.metrics.accepted.WithLabelValues(string(cmd.Kind)).Inc()
	c.Header("Location", operationPath(op.ID))
	writeJSON(c, http.StatusOK, mediaJSON, Operation{
		ID: op.ID, Status: op.Status, Kind: op.Kind, ResourceLocation: op.ResourceLocation(),
		ResourceVersion: op.ResourceVersion, Error: op.Error,
		CreatedAt: op.CreatedAt.UTC(), LastUpdatedAt: op.LastUpdatedAt.UTC(),
	})
}
