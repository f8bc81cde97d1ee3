package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// OperationPage is the body of GET /v1/operations: recorded operations,
// newest first.
type OperationPage struct {
	Items []Operation `json:"items"`
}

// recentOperations answers GET /v1/operations?limit=: the operations the
// projection recorded last, newest first (store.Queries.RecentOperations).
// It is the live page's first view; a command not yet applied is not there
// (the query side has no row for it).
func (h *queries) recentOperations(c *gin.Context) {
	limit := defaultLimit
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			fail(c, invalid("limit", "must be an integer from 1 to %d", maxLimit))
			return
		}
		limit = n
	}
	ops, err := h.q.RecentOperations(c.Request.Context(), limit)
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("recent operations: %w", err)))
		return
	}
	page := OperationPage{Items: make([]Operation, 0, len(ops))}
	for _, op := range ops {
		page.Items = append(page.Items, operationJSON(op))
	}
	writeJSON(c, http.StatusOK, mediaJSON, page)
}
