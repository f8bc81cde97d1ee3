package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/live"
)

// Timings of the event stream.
const (
	// DefaultHeartbeat is how often an idle stream sends a comment, so that
	// proxies and browsers keep the connection open.
	DefaultHeartbeat = 15 * time.Second
	// eventWriteTimeout bounds one write to a stream: a client that stops
	// reading is cut off then, instead of holding its goroutine for good.
	eventWriteTimeout = 10 * time.Second
	// eventRetry is the reconnection delay the stream asks browsers for.
	eventRetry = 2 * time.Second
)

// events serves GET /v1/events: the pipeline's events (package live) as
// Server-Sent Events, one JSON live.Event per message, with the event's id,
// so that a browser reconnecting with Last-Event-ID resumes where it left
// off. It starts with the recent past: what the ring holds after
// Last-Event-ID, or all of it. When the ring no longer reaches back that
// far, the stream starts with {"type":"reset"}: the page reloads its first
// view, then carries on.
type events struct {
	hub       *live.Hub
	heartbeat time.Duration
}

func (h *events) routes(r gin.IRoutes) { r.GET("/v1/events", h.stream) }

func (h *events) stream(c *gin.Context) {
	lastID := c.GetHeader("Last-Event-ID")
	sub, backlog, resumed, err := h.hub.Subscribe(lastID)
	if err != nil {
		detail := "the server is stopping"
		if errors.Is(err, live.ErrFull) {
			detail = "too many event streams are open; retry later"
		}
		writeProblem(c, newProblem(http.StatusServiceUnavailable, ProblemUnavailable, detail).withHeader("Retry-After", "5"))
		return
	}
	defer sub.Close()
	w := eventWriter{c: c, rc: http.NewResponseController(c.Writer)}
	hdr := c.Writer.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // a proxy must not hold events back
	c.Status(http.StatusOK)
	if clientMethod(c.Request) == http.MethodHead {
		return // a HEAD (served as a GET, see headAsGet) gets the headers, and no stream that never ends
	}
	w.write(fmt.Sprintf("retry: %d\n\n", eventRetry.Milliseconds()))
	if lastID != "" && !resumed {
		w.write("data: {\"type\":\"reset\"}\n\n")
	}
	for _, e := range backlog {
		w.event(e)
	}
	w.flush()
	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	for w.err == nil {
		select {
		case <-c.Request.Context().Done():
			return // the client went away
		case e, ok := <-sub.Events():
			if !ok { // the browser reconnects, from Last-Event-ID
				if sub.Dropped() {
					w.write(": dropped: this stream fell too far behind; reconnect to resume\n\n")
					w.flush()
				}
				return
			}
			w.event(e)
			// Send what else is waiting with it, in one flush.
			for n := len(sub.Events()); n > 0 && w.err == nil; n-- {
				w.event(<-sub.Events())
			}
		case <-tick.C:
			w.write(": heartbeat\n\n")
		}
		w.flush()
	}
}

// eventWriter writes a stream, each write with its own deadline (the
// server's WriteTimeout would otherwise end every stream after 30 s). After
// the first error it writes nothing more.
type eventWriter struct {
	c   *gin.Context
	rc  *http.ResponseController
	err error
}

func (w *eventWriter) write(s string) {
	if w.err != nil {
		return
	}
	if w.err = w.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)); w.err != nil {
		return
	}
	_, w.err = w.c.Writer.WriteString(s)
}

func (w *eventWriter) event(e live.Event) {
	b, err := json.Marshal(e)
	if err != nil { // only a bug gets here: an Event always marshals
		w.err = fmt.Errorf("encode event: %w", err)
		return
	}
	w.write("id: " + e.ID + "\ndata: " + string(b) + "\n\n")
}

func (w *eventWriter) flush() {
	if w.err == nil {
		w.err = w.rc.Flush()
	}
}
