package httpapi

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Page sizes of GET /v1/shipments.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// queries serves the GET routes, from the projection database only.
type queries struct {
	q      store.Queries
	feed   store.FeedLag // nil: lag as the projector last saw it
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger
	lag    *sampler[lagReading] // for the Projection-Lag header
}

func (h *queries) routes(r gin.IRoutes) {
	h.lag = &sampler[lagReading]{read: h.measureLag, interval: time.Second, logger: h.logger, what: "the projection's lag"}
	r.Use(h.lagHeader)
	r.GET("/v1/shipments", h.list)
	r.GET("/v1/shipments/:id", h.shipment)
	r.GET("/v1/shipments/:id/history", h.history)
	r.GET("/v1/operations", h.recentOperations)
	r.GET("/v1/operations/:id", h.operation)
	r.GET("/v1/stats", h.stats)
}

// Shipment is the JSON shape of a shipment.
type Shipment struct {
	ID          string           `json:"id"`
	Recipient   string           `json:"recipient"`
	Destination string           `json:"destination"`
	WeightGrams int              `json:"weightGrams"`
	Service     shipment.Service `json:"service"`
	Status      shipment.Status  `json:"status"`
	Version     int64            `json:"version"`
	CreatedAt   time.Time        `json:"createdAt"`
	UpdatedAt   time.Time        `json:"updatedAt"`
}

func shipmentJSON(s shipment.Shipment) Shipment {
	return Shipment{
		ID: s.ID, Recipient: s.Recipient, Destination: s.Destination, WeightGrams: s.WeightGrams,
		Service: s.Service, Status: s.Status, Version: s.Version,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
}

// ShipmentPage is one page of GET /v1/shipments. NextCursor is left out on
// the last page.
type ShipmentPage struct {
	Items      []Shipment `json:"items"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// History is the body of GET /v1/shipments/{id}/history.
type History struct {
	Items []HistoryItem `json:"items"`
}

// HistoryItem is one applied change of a shipment.
type HistoryItem struct {
	Version     int64               `json:"version"`
	Type        shipment.ChangeType `json:"type"`
	Status      shipment.Status     `json:"status"`
	At          time.Time           `json:"at"`
	OperationID string              `json:"operationId"`
}

// shipment answers GET /v1/shipments/{id}, with its version as ETag, or 304
// when If-None-Match already names it.
func (h *queries) shipment(c *gin.Context) {
	id := c.Param("id")
	if err := shipment.ValidateID(id); err != nil {
		fail(c, err)
		return
	}
	s, ok, err := h.q.Shipment(c.Request.Context(), id)
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("get shipment %s: %w", id, err)))
		return
	}
	if !ok {
		fail(c, notFound("no shipment %s", id))
		return
	}
	tag := etag(s.Version)
	c.Header("ETag", tag)
	if noneMatch(c.Request.Header, tag) {
		c.Status(http.StatusNotModified)
		return
	}
	writeJSON(c, http.StatusOK, mediaJSON, shipmentJSON(s))
}

// list answers GET /v1/shipments?status=&limit=&cursor=.
func (h *queries) list(c *gin.Context) {
	q, err := listQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	items, more, err := h.q.Shipments(c.Request.Context(), q)
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("list shipments: %w", err)))
		return
	}
	page := ShipmentPage{Items: make([]Shipment, 0, len(items))}
	for _, s := range items {
		page.Items = append(page.Items, shipmentJSON(s))
	}
	if more && len(items) > 0 {
		page.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	writeJSON(c, http.StatusOK, mediaJSON, page)
}

// listQuery reads and checks the query parameters of a list.
func listQuery(c *gin.Context) (store.ListQuery, error) {
	q := store.ListQuery{Limit: defaultLimit}
	if v, ok := c.GetQuery("status"); ok {
		if q.Status = shipment.Status(v); !q.Status.Valid() {
			names := make([]string, len(shipment.Statuses))
			for i, s := range shipment.Statuses {
				names[i] = string(s)
			}
			return q, invalid("status", "must be one of: %s", strings.Join(names, ", "))
		}
	}
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return q, invalid("limit", "must be an integer from 1 to %d", maxLimit)
		}
		q.Limit = n
	}
	if v, ok := c.GetQuery("cursor"); ok {
		after, err := decodeCursor(v)
		if err != nil {
			return q, err
		}
		q.After = after
	}
	return q, nil
}

// A cursor is the last id of the previous page, base64url-encoded so that
// clients treat it as opaque (and so that it can change form later).
func encodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || shipment.ValidateID(string(b)) != nil {
		return "", invalid("cursor", "is not a cursor this API issued; use nextCursor from the previous page")
	}
	return string(b), nil
}

// history answers GET /v1/shipments/{id}/history.
func (h *queries) history(c *gin.Context) {
	id := c.Param("id")
	if err := shipment.ValidateID(id); err != nil {
		fail(c, err)
		return
	}
	entries, ok, err := h.q.History(c.Request.Context(), id)
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("get history of %s: %w", id, err)))
		return
	}
	if !ok {
		fail(c, notFound("no history for shipment %s", id))
		return
	}
	body := History{Items: make([]HistoryItem, 0, len(entries))}
	for _, e := range entries {
		body.Items = append(body.Items, HistoryItem{
			Version: e.Version, Type: e.Type, Status: e.Status, At: e.At.UTC(), OperationID: e.OperationID,
		})
	}
	writeJSON(c, http.StatusOK, mediaJSON, body)
}
