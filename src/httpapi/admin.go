package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// DeadLetterAdmin is what the admin routes need of the dead-letter queue.
// Its purge takes no callback: the worker's DeadLetterAdmin records each dead
// letter's outcome before the bus removes it.
type DeadLetterAdmin interface {
	PeekDeadLetters(ctx context.Context, from int64, max int) ([]*bus.ReceivedMessage, error)
	ResubmitDeadLetter(ctx context.Context, seq int64) error
	PurgeDeadLetters(ctx context.Context) (int, error)
}

// admin serves /admin/v1/deadletters: list, show, resubmit and purge the
// queue's dead letters.
type admin struct {
	dl    DeadLetterAdmin
	guard gin.HandlerFunc // adminOnly
}

func (h *admin) routes(r *gin.Engine) {
	g := r.Group("/admin/v1/deadletters", h.guard)
	g.GET("", h.list)
	g.DELETE("", h.purge)
	g.GET("/:seq", h.show)
	g.POST("/:seq/resubmit", h.resubmit)
}

// adminOnly guards the admin routes: with a verifier, a token holding the
// admin role; without one, a loopback client only, even when
// the rest of the API runs open. The client is judged by the connection's
// address, never by X-Forwarded-For, which anyone can send.
func adminOnly(v TokenVerifier, role string) gin.HandlerFunc {
	if v != nil {
		return guard(v, role)
	}
	return func(c *gin.Context) {
		if !loopback(c.Request.RemoteAddr) {
			writeProblem(c, newProblem(http.StatusForbidden, ProblemForbidden,
				"admin routes answer only to loopback clients while no token verification is configured (see docs/deploy.md, Authentication)"))
		}
	}
}

// loopback reports whether a RemoteAddr ("host:port") is 127.0.0.0/8 or ::1.
func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// DeadLetter is the JSON shape of a dead-lettered message. A JSON body (every
// command's) is shown as JSON; any other body as base64 in BodyBase64.
type DeadLetter struct {
	SequenceNumber        int64             `json:"sequenceNumber"`
	MessageID             string            `json:"messageId"`
	SessionID             string            `json:"sessionId"`
	Subject               string            `json:"subject"`
	ContentType           string            `json:"contentType,omitempty"`
	Properties            map[string]string `json:"properties,omitempty"`
	Body                  json.RawMessage   `json:"body,omitempty"`
	BodyBase64            []byte            `json:"bodyBase64,omitempty"`
	DeliveryCount         int               `json:"deliveryCount"`
	EnqueuedAt            time.Time         `json:"enqueuedAt,omitzero"`
	ExpiresAt             time.Time         `json:"expiresAt,omitzero"`
	DeadLetterReason      string            `json:"deadLetterReason"`
	DeadLetterDescription string            `json:"deadLetterDescription"`
}

func deadLetterJSON(m *bus.ReceivedMessage) DeadLetter {
	d := DeadLetter{
		SequenceNumber: m.SequenceNumber, MessageID: m.ID, SessionID: m.SessionID, Subject: m.Subject,
		ContentType: m.ContentType, Properties: m.Properties, DeliveryCount: m.DeliveryCount,
		EnqueuedAt: m.EnqueuedAt.UTC(), ExpiresAt: m.ExpiresAt.UTC(),
		DeadLetterReason: m.DeadLetterReason, DeadLetterDescription: m.DeadLetterDescription,
	}
	if utf8.Valid(m.Body) && json.Valid(m.Body) {
		d.Body = m.Body
	} else if len(m.Body) > 0 {
		d.BodyBase64 = m.Body
	}
	return d
}

// DeadLetterPage is one page of the dead-letter list. NextFrom, when set, is
// the from of the next page.
type DeadLetterPage struct {
	Items    []DeadLetter `json:"items"`
	NextFrom int64        `json:"nextFrom,omitempty"`
}

// list answers GET /admin/v1/deadletters?from=&limit=.
func (h *admin) list(c *gin.Context) {
	from, limit := int64(0), defaultLimit
	var err error
	if v, ok := c.GetQuery("from"); ok {
		if from, err = strconv.ParseInt(v, 10, 64); err != nil || from < 0 {
			fail(c, invalid("from", "must be a sequence number (an integer of 0 or more)"))
			return
		}
	}
	if v, ok := c.GetQuery("limit"); ok {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			fail(c, invalid("limit", "must be an integer from 1 to %d", maxLimit))
			return
		}
	}
	// One more than asked tells whether there is a next page.
	msgs, err := h.dl.PeekDeadLetters(c.Request.Context(), from, limit+1)
	if err != nil {
		fail(c, unavailable("dead-letter queue", fmt.Errorf("peek dead letters: %w", err)))
		return
	}
	page := DeadLetterPage{Items: make([]DeadLetter, 0, min(len(msgs), limit))}
	for i, m := range msgs {
		if i == limit {
			page.NextFrom = m.SequenceNumber
			break
		}
		page.Items = append(page.Items, deadLetterJSON(m))
	}
	writeJSON(c, http.StatusOK, mediaJSON, page)
}

// show answers GET /admin/v1/deadletters/{seq}.
func (h *admin) show(c *gin.Context) {
	seq, err := parseSeq(c)
	if err != nil {
		fail(c, err)
		return
	}
	msgs, err := h.dl.PeekDeadLetters(c.Request.Context(), seq, 1)
	if err != nil {
		fail(c, unavailable("dead-letter queue", fmt.Errorf("peek dead letter %d: %w", seq, err)))
		return
	}
	if len(msgs) == 0 || msgs[0].SequenceNumber != seq {
		fail(c, bus.ErrNotFound)
		return
	}
	writeJSON(c, http.StatusOK, mediaJSON, deadLetterJSON(msgs[0]))
}

// resubmit answers POST /admin/v1/deadletters/{seq}/resubmit: the message goes
// back to the main queue, in its session, and leaves the dead-letter queue.
func (h *admin) resubmit(c *gin.Context) {
	seq, err := parseSeq(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.dl.ResubmitDeadLetter(c.Request.Context(), seq); err != nil {
		fail(c, deadLetterError(fmt.Errorf("resubmit dead letter %d: %w", seq, err)))
		return
	}
	c.Status(http.StatusNoContent)
}

// purge answers DELETE /admin/v1/deadletters with how many were removed.
func (h *admin) purge(c *gin.Context) {
	n, err := h.dl.PurgeDeadLetters(c.Request.Context())
	if err != nil {
		fail(c, unavailable("dead-letter queue", fmt.Errorf("purge dead letters: %w", err)))
		return
	}
	writeJSON(c, http.StatusOK, mediaJSON, gin.H{"purged": n})
}

// deadLetterError keeps bus.ErrNotFound a 404 and makes anything else a 503.
func deadLetterError(err error) error {
	if errors.Is(err, bus.ErrNotFound) {
		return err
	}
	return unavailable("dead-letter queue", err)
}

func parseSeq(c *gin.Context) (int64, error) {
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil || seq < 0 {
		return 0, invalid("seq", "must be a sequence number (an integer of 0 or more)")
	}
	return seq, nil
}
