package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// The lab (docs/live.md): routes that break the pipeline on purpose, for
// training. They live under /admin/lab, behind the admin routes' rule and
// labAllowed.

// LabControls are the lab's switches this process has; a nil field is a part
// it does not run (the projector, in a worker process), and its routes
// answer 404.
type LabControls struct {
	Worker    LabSwitch // holds the worker still: commands wait on the queue
	Projector LabSwitch // holds the projector still: the projection falls behind
	// WriteDelay slows every write transaction of the worker.
	WriteDelay LabKnob
	// RestartWorker stops the worker as a shutdown does (what it is applying
	// is settled, its sessions released) and starts it again, and returns
	// once it runs.
	RestartWorker func(ctx context.Context) error
}

// LabSwitch pauses and resumes a part (simulate.Pause).
type LabSwitch interface {
	Pause()
	Resume()
	Paused() bool
}

// LabKnob is a delay turned while it is used (simulate.Knob).
type LabKnob interface {
	Set(d time.Duration)
	Get() time.Duration
}

// labAllowed is the one gate of the lab: it breaks things on purpose, so it
// answers r only while the process listens on a loopback address (listen) —
// a laptop, a classroom, a test — or, when the process was told it may
// (forAdmins: --lab-for-admins, off by default), to a caller whose token
// holds the admin role. So a deployment, whose listener is not on loopback
// (0.0.0.0 takes connections from anywhere), has no lab unless asked. It runs
// after the admin routes' own rule (adminOnly), which has checked the token
// and left the caller's principal in the context (guard, auth.go).
func labAllowed(listen net.Addr, forAdmins bool, c *gin.Context) bool {
	if forAdmins {
		if _, ok := c.Get(principalKey); ok {
			return true
		}
	}
	if listen == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(listen.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// Limits of a burst.
const (
	maxBurstCommands  = 10_000
	maxBurstShipments = 1_000
	burstBatch        = 100 // messages per Send
)

// lab serves /admin/lab.
type lab struct {
	controls  LabControls
	listen    net.Addr      // where the process listens (labAllowed)
	forAdmins bool          // the lab answers admins beyond loopback (labAllowed)
	sender    CommandSender // nil: no burst, no poison (no queue in this process)
	hub       *live.Hub     // nil: the lab's events are not published
	ttl       time.Duration
	now       func() time.Time
	newID     func() (string, error)
}

func (h *lab) routes(r *gin.Engine, authorize gin.HandlerFunc) {
	g := r.Group("/admin/lab", authorize, h.gate)
	g.GET("", h.state)
	g.POST("/burst", h.burst)
	g.POST("/poison", h.poison)
	g.POST("/worker/:action", h.switchPart("worker", h.controls.Worker))
	g.POST("/projector/:action", h.switchPart("projector", h.controls.Projector))
	g.PUT("/write-delay", h.writeDelay)
}

func (h *lab) gate(c *gin.Context) {
	if !labAllowed(h.listen, h.forAdmins, c) {
		writeProblem(c, newProblem(http.StatusForbidden, ProblemForbidden,
			"the lab's controls are for training only: they answer only when the process listens on a loopback address, or, with --lab-for-admins, to a token holding the admin role"))
	}
}

// LabState is the body of GET /admin/lab: which controls this process has,
// and how they are set. A part this process does not run is left out.
type LabState struct {
	Burst         bool   `json:"burst"`
	Poison        bool   `json:"poison"`
	Worker        string `json:"worker,omitempty"`     // running | paused
	Projector     string `json:"projector,omitempty"`  // running | paused
	WriteDelay    string `json:"writeDelay,omitempty"` // a Go duration: 0s, 250ms
	RestartWorker bool   `json:"restartWorker"`
}

func (h *lab) current() LabState {
	st := LabState{Burst: h.sender != nil, Poison: h.sender != nil, RestartWorker: h.controls.RestartWorker != nil}
	st.Worker, st.Projector = switchState(h.controls.Worker), switchState(h.controls.Projector)
	if h.controls.WriteDelay != nil {
		st.WriteDelay = h.controls.WriteDelay.Get().String()
	}
	return st
}

func switchState(s LabSwitch) string {
	switch {
	case s == nil:
		return ""
	case s.Paused():
		return "paused"
	}
	return "running"
}

func (h *lab) state(c *gin.Context) { writeJSON(c, http.StatusOK, mediaJSON, h.current()) }

// changed publishes what a control did and answers with the new state.
func (h *lab) changed(c *gin.Context, text string) {
	h.publish(text)
	writeJSON(c, http.StatusOK, mediaJSON, h.current())
}

// publish tells the live page what the lab did (its lab log).
func (h *lab) publish(text string) {
	if h.hub != nil {
		h.hub.Publish(live.Event{Type: live.Lab, Text: text})
	}
}

// switchPart answers POST /admin/lab/{part}/{pause|resume|restart}.
func (h *lab) switchPart(part string, s LabSwitch) gin.HandlerFunc {
	return func(c *gin.Context) {
		action := c.Param("action")
		switch {
		case action == "restart" && part == "worker" && h.controls.RestartWorker != nil:
			if err := h.controls.RestartWorker(c.Request.Context()); err != nil {
				fail(c, unavailable("worker", fmt.Errorf("restart worker: %w", err)))
				return
			}
			h.changed(c, "worker restarted")
		case s == nil:
			fail(c, notFound("this process runs no %s", part))
		case action == "pause":
			s.Pause()
			h.changed(c, part+" paused")
		case action == "resume":
			s.Resume()
			h.changed(c, part+" resumed")
		default:
			fail(c, notFound("no lab action %q for the %s", action, part))
		}
	}
}

// writeDelay answers PUT /admin/lab/write-delay {"delay": "250ms"}.
func (h *lab) writeDelay(c *gin.Context) {
	if h.controls.WriteDelay == nil {
		fail(c, notFound("this process runs no worker, so it has no write store to slow"))
		return
	}
	var req struct {
		Delay string `json:"delay"`
	}
	if err := decodeLabBody(c, &req); err != nil {
		fail(c, err)
		return
	}
	d, err := time.ParseDuration(req.Delay)
	if err != nil || d < 0 || d > 10*time.Second {
		fail(c, invalid("delay", "must be a duration from 0s to 10s, such as \"250ms\""))
		return
	}
	h.controls.WriteDelay.Set(d)
	h.changed(c, "write store delay set to "+d.String())
}

// decodeLabBody reads a small JSON object into v.
func decodeLabBody(c *gin.Context, v any) error {
	body, err := readBody(c, mediaJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("the body is not the JSON object this route takes: %v", err)
	}
	return nil
}

// BurstResult is the body of a burst's 202.
type BurstResult struct {
	Accepted  int      `json:"accepted"`
	Shipments []string `json:"shipments"`
}

// burst answers POST /admin/lab/burst {"commands": N, "shipments": M,
// "prefix": "lab"}: N upserts spread round-robin over M shipments
// (prefix-000, prefix-001, …), sent to the queue as the command API sends
// them, in batches. Within a shipment they replace one another in order, so
// each shipment's version ends at its share of N.
func (h *lab) burst(c *gin.Context) {
	if h.sender == nil {
		fail(c, notFound("this process has no queue to send to"))
		return
	}
	req := struct {
		Commands  int    `json:"commands"`
		Shipments int    `json:"shipments"`
		Prefix    string `json:"prefix"`
	}{Prefix: "lab"}
	if err := decodeLabBody(c, &req); err != nil {
		fail(c, err)
		return
	}
	switch {
	case req.Commands < 1 || req.Commands > maxBurstCommands:
		fail(c, invalid("commands", "must be an integer from 1 to %d", maxBurstCommands))
		return
	case req.Shipments < 1 || req.Shipments > min(req.Commands, maxBurstShipments):
		fail(c, invalid("shipments", "must be an integer from 1 to the number of commands (at most %d)", maxBurstShipments))
		return
	case shipment.ValidateID(req.Prefix+"-000") != nil:
		fail(c, invalid("prefix", "with -000 after it, must be a shipment id (up to 60 of A-Z a-z 0-9 _ -)"))
		return
	}
	res := BurstResult{}
	for j := range req.Shipments {
		res.Shipments = append(res.Shipments, fmt.Sprintf("%s-%03d", req.Prefix, j))
	}
	var batch []bus.Message
	for i := range req.Commands {
		msg, err := h.message(res.Shipments[i%req.Shipments], i)
		if err != nil {
			fail(c, err)
			return
		}
		if batch = append(batch, msg); len(batch) == burstBatch || i == req.Commands-1 {
			if err := h.sender.Send(c.Request.Context(), batch...); err != nil {
				fail(c, unavailable("queue", fmt.Errorf("send burst: %w", err)))
				return
			}
			res.Accepted += len(batch)
			batch = batch[:0]
		}
	}
	h.publish(fmt.Sprintf("burst of %d commands over %d shipments (%s-000 …)", res.Accepted, req.Shipments, req.Prefix))
	writeJSON(c, http.StatusAccepted, mediaJSON, res)
}

// message is the i-th command of a burst: an upsert of shipmentID, sent as
// the command API would send it.
func (h *lab) message(shipmentID string, i int) (bus.Message, error) {
	id, err := h.newID()
	if err != nil {
		return bus.Message{}, fmt.Errorf("new operation id: %w", err)
	}
	cmd := command.Command{Kind: command.KindUpsert, ShipmentID: shipmentID, OperationID: id, AcceptedAt: h.now().UTC(),
		Payload: shipment.Fields{Recipient: "Lab recipient", Destination: fmt.Sprintf("%d Burst Street", i+1),
			WeightGrams: 100 + i%1000, Service: shipment.Standard}}
	msg, err := cmd.Message()
	if err != nil {
		return bus.Message{}, fmt.Errorf("encode command: %w", err)
	}
	msg.TimeToLive = h.ttl
	return msg, nil
}

// PoisonResult is the body of a poison's 202.
type PoisonResult struct {
	OperationID string `json:"operationId"`
	ShipmentID  string `json:"shipmentId"`
}

// poisonBody is what a poison message carries instead of a command.
const poisonBody = "this is not a command: the lab's poison message"

// poison answers POST /admin/lab/poison {"shipmentId": "s-1"}: a message in
// the shipment's session that looks like an upsert but whose body the
// worker cannot decode, sent straight to the queue. The worker
// dead-letters it at once (MalformedCommand), and the dead-letter recorder
// then records its operation Failed/DeadLettered; the session goes on.
func (h *lab) poison(c *gin.Context) {
	if h.sender == nil {
		fail(c, notFound("this process has no queue to send to"))
		return
	}
	var req struct {
		ShipmentID string `json:"shipmentId"`
	}
	if err := decodeLabBody(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := shipment.ValidateID(req.ShipmentID); err != nil {
		fail(c, invalid("shipmentId", "%v", err))
		return
	}
	msg, err := h.message(req.ShipmentID, 0)
	if err != nil {
		fail(c, err)
		return
	}
	msg.Body = []byte(poisonBody)
	if err := h.sender.Send(c.Request.Context(), msg); err != nil {
		fail(c, unavailable("queue", fmt.Errorf("send poison: %w", err)))
		return
	}
	h.publish("poison message sent to shipment " + req.ShipmentID)
	c.Header("Location", operationPath(msg.ID))
	writeJSON(c, http.StatusAccepted, mediaJSON, PoisonResult{OperationID: msg.ID, ShipmentID: req.ShipmentID})
}
