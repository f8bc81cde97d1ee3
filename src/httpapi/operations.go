package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/operation"
)

// Operation is the JSON shape of an operation: the body of a 202 and of
// GET /v1/operations/{id}.
type Operation struct {
	ID     string           `json:"id"`
	Status operation.Status `json:"status"`
	// Kind and ResourceLocation are unknown, and left out, for an operation
	// the worker has not recorded yet (see operation below).
	Kind             string `json:"kind,omitempty"`
	ResourceLocation string `json:"resourceLocation,omitempty"`
	// ResourceVersion is the shipment version the command produced.
	ResourceVersion int64            `json:"resourceVersion,omitempty"`
	Error           *operation.Error `json:"error,omitempty"`
	CreatedAt       time.Time        `json:"createdAt,omitzero"`
	LastUpdatedAt   time.Time        `json:"lastUpdatedAt,omitzero"`
}

// operationPath is where an operation can be watched.
func operationPath(id string) string { return "/v1/operations/" + id }

// clockSkew is how far the clocks of the command API that made an id and of
// the query API that reads its time may disagree.
const clockSkew = time.Minute

// operation answers GET /v1/operations/{id}: the recorded operation when the
// projection has it, else an answer from the id alone (see doc.go).
func (h *queries) operation(c *gin.Context) {
	id := c.Param("id")
	kind, made := operation.ParseID(id)
	if kind == operation.IDInvalid {
		fail(c, notFound("no operation %s", id)) // malformed ids do not exist: ids are opaque
		return
	}
	op, ok, err := h.q.Operation(c.Request.Context(), id)
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("get operation %s: %w", id, err)))
		return
	}
	if ok {
		if !op.Status.Terminal() {
			c.Header("Retry-After", "1")
		}
		writeJSON(c, http.StatusOK, mediaJSON, operationJSON(op))
		return
	}
	if !h.mayBeQueued(kind, made) {
		fail(c, notFound("no operation %s", id))
		return
	}
	c.Header("Retry-After", "1")
	writeJSON(c, http.StatusOK, mediaJSON, Operation{ID: id, Status: operation.NotStarted, CreatedAt: made})
}

// mayBeQueued reports whether an operation nobody has recorded may still be
// waiting on the queue. A timed id may, for as long as its message may live
// (and a clock skew either way); a keyed id carries no time, and the command
// API keeps no state to tell an unknown key from a queued one, so it always may.
func (h *queries) mayBeQueued(kind operation.IDKind, made time.Time) bool {
	if kind == operation.IDKeyed {
		return true
	}
	now := h.now()
	return !made.After(now.Add(clockSkew)) && now.Sub(made) <= h.ttl+clockSkew
}
