package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/simulate"
)

// commandAPI is what the command role gives the API: where commands go
// (the queue's sender, or with --mode sync the baseline's sink) and its
// readiness checks.
type commandAPI struct {
	sender  bus.Sender
	sink    httpapi.CommandSink
	ready   []httpapi.ReadyCheck
	backlog bus.BacklogReader // nil: no load shedding
}

// startCommandAPI is the command role: validate, send to the queue, 202.
// The command API writes no database.
func startCommandAPI(ctx context.Context, p *process) (commandAPI, error) {
	if p.roles.sync {
		return startSyncCommandAPI(ctx, p)
	}
	q, err := p.queue(ctx)
	if err != nil {
		return commandAPI{}, err
	}
	var s bus.Sender = q
	if p.cfg.SimulateBusRTT > 0 {
		s = simulate.Remote{RTT: p.cfg.SimulateBusRTT}.Sender(s)
	}
	if p.cfg.SessionLanes > 0 {
		s = lanedSender{Sender: s, lanes: p.cfg.SessionLanes}
	}
	if hub, err := p.liveHub(ctx); err != nil {
		return commandAPI{}, err
	} else if hub != nil {
		s = live.Sender{Sender: s, Hub: hub} // what the queue stored is published as accepted
	}
	return commandAPI{sender: s, ready: []httpapi.ReadyCheck{{Name: "queue-send", Check: q.PingSend}},
		backlog: shedBy(p, q)}, nil
}

// shedBy is the backlog the command API sheds load by, or nil when no bound
// applies. Service Bus reports counts, not ages, and only to an identity with
// the Manage right: there only --max-backlog applies (docs/bus.md, Backlog).
func shedBy(p *process, q bus.BacklogReader) bus.BacklogReader {
	embedded := p.cfg.ServiceBusNamespace == "" && p.cfg.ServiceBusConnectionString == ""
	if p.cfg.MaxBacklog == 0 && (p.cfg.MaxBacklogAge == 0 || !embedded) {
		return nil
	}
	age := p.cfg.MaxBacklogAge
	if !embedded {
		age = 0
	}
	p.logger.Info("shedding commands while the queue's backlog is past its bound",
		"max_backlog", p.cfg.MaxBacklog, "max_backlog_age", age.String())
	return q
}

// lanedSender puts each command in its shipment's lane (command.Lane)
// instead of a session of its own: one shipment's commands still share a
// session, and apply in order (docs/adr/0002-lanes.md).
type lanedSender struct {
	bus.Sender
	lanes int
}

func (l lanedSender) Send(ctx context.Context, msgs ...bus.Message) error {
	out := make([]bus.Message, len(msgs))
	for i, m := range msgs {
		m.SessionID = command.Lane(command.ShipmentOf(m), l.lanes)
		out[i] = m
	}
	return l.Sender.Send(ctx, out...)
}
