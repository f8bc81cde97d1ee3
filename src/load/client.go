package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// client is the few calls the generator makes to the HTTP API.
type client struct {
	base string
	http *http.Client
}

// opBody is what the generator reads of an operation.
type opBody struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	ResourceVersion int64  `json:"resourceVersion"`
}

func (o opBody) terminal() bool { return o.Status == "Succeeded" || o.Status == "Failed" }

// statusError is an answer with an unexpected HTTP status.
type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP " + strconv.Itoa(e.code) }

// errorKind names an error for the report: "http_503", "timeout", "transport".
func errorKind(err error) string {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return "http_" + strconv.Itoa(se.code)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "transport"
}

// send sends a command request and returns the HTTP status and, for a 2xx,
// the operation in the body.
func (c *client) send(ctx context.Context, r request) (int, opBody, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, opBody{}, fmt.Errorf("new request: %w", err)
	}
	req.Header = r.header.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, opBody{}, err
	}
	defer resp.Body.Close()
	var op opBody
	if resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(&op); err != nil {
			return resp.StatusCode, op, fmt.Errorf("decode operation: %w", err)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
	return resp.StatusCode, op, nil
}

// get GETs path and decodes a 200 into v; found is false for a 404.
func (c *client) get(ctx context.Context, path string, v any) (found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, fmt.Errorf("new request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	defer func() { _, _ = io.Copy(io.Discard, resp.Body) }()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return false, fmt.Errorf("decode %s: %w", path, err)
		}
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, &statusError{resp.StatusCode}
}

func (c *client) operation(ctx context.Context, id string) (opBody, error) {
	var op opBody
	_, err := c.get(ctx, "/v1/operations/"+id, &op)
	return op, err
}

// stats is what the generator reads of GET /v1/stats.
type stats struct {
	Checkpoint int64 `json:"checkpoint"`
	FeedHead   int64 `json:"feedHead"`
}

func (c *client) stats(ctx context.Context) (stats, error) {
	var s stats
	_, err := c.get(ctx, "/v1/stats", &s)
	return s, err
}

// history returns the operation ids of a shipment's history, in version order.
func (c *client) history(ctx context.Context, id string) ([]string, error) {
	var h struct {
		Items []struct {
			OperationID string `json:"operationId"`
		} `json:"items"`
	}
	if _, err := c.get(ctx, "/v1/shipments/"+id+"/history", &h); err != nil {
		return nil, err
	}
	ids := make([]string, len(h.Items))
	for i, it := range h.Items {
		ids[i] = it.OperationID
	}
	return ids, nil
}

// shipmentBody is what the generator reads of a shipment.
type shipmentBody struct {
	shipment.Fields
	Version int64 `json:"version"`
}

func (c *client) shipment(ctx context.Context, id string) (shipmentBody, bool, error) {
	var s shipmentBody
	found, err := c.get(ctx, "/v1/shipments/"+id, &s)
	return s, found, err
}
