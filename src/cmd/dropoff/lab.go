package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dropoff-dev/dropoff/src/httpapi"
)

// labUsage is dropoff lab's usage line.
const labUsage = `usage: dropoff lab status
       dropoff lab burst [--commands N] [--shipments M] [--prefix P]
       dropoff lab poison SHIPMENT
       dropoff lab pause worker|projector
       dropoff lab resume worker|projector
       dropoff lab restart worker
       dropoff lab slow DURATION   (the worker's write delay; 0s: none)
     [--url URL] [--token TOKEN]
For training only: a running process's /admin/lab routes, which answer only
while it listens on a loopback address (docs/live.md).`

// lab is `dropoff lab ...`: the live page's lab controls from a terminal,
// against a running all-in-one process (or the role that runs the part),
// with the admin routes' authentication.
func lab(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(stderr, labUsage)
		return flag.ErrHelp
	}
	action, args := args[0], args[1:]
	fs := flag.NewFlagSet("dropoff lab "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url, token := adminFlags(fs, getenv, "the process's base URL")
	commands := fs.Int("commands", 200, "burst: how many commands")
	shipments := fs.Int("shipments", 10, "burst: over how many shipments")
	prefix := fs.String("prefix", "lab", "burst: the shipments' ids are PREFIX-000, PREFIX-001, …")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := checkLabArgs(action, positional); err != nil {
		return err
	}
	c := labClient{admin: adminClient{base: *url + "/admin/lab", token: *token, name: "lab"}, out: stdout}
	switch action {
	case "burst":
		return c.burst(ctx, map[string]any{"commands": *commands, "shipments": *shipments, "prefix": *prefix})
	case "poison":
		return c.poison(ctx, positional[0])
	case "pause", "resume", "restart":
		return c.state(ctx, http.MethodPost, "/"+positional[0]+"/"+action, nil)
	case "slow":
		d, err := time.ParseDuration(positional[0])
		if err != nil {
			return fmt.Errorf("lab slow: %q is not a duration such as 250ms or 0s", positional[0])
		}
		return c.state(ctx, http.MethodPut, "/write-delay", map[string]string{"delay": d.String()})
	}
	return c.state(ctx, http.MethodGet, "", nil) // status
}

// checkLabArgs says what is wrong with an action's arguments, before
// anything is called.
func checkLabArgs(action string, positional []string) error {
	want := 1
	switch action {
	case "status", "burst":
		want = 0
	case "poison", "pause", "resume", "restart", "slow":
	default:
		return fmt.Errorf("lab: unknown action %q (want status, burst, poison, pause, resume, restart or slow)", action)
	}
	switch {
	case want == 0 && len(positional) > 0:
		return fmt.Errorf("lab %s: unexpected argument %q", action, positional[0])
	case want == 1 && len(positional) != 1:
		return fmt.Errorf("lab %s: want one argument; see dropoff lab -h", action)
	case (action == "pause" || action == "resume" || action == "restart") && positional[0] != "worker" && positional[0] != "projector":
		return fmt.Errorf("lab %s: %q is not worker or projector", action, positional[0])
	}
	return nil
}

// labClient calls /admin/lab and prints what it answered.
type labClient struct {
	admin adminClient
	out   io.Writer
}

// state sends one request that answers with the lab's state, and prints it.
func (c labClient) state(ctx context.Context, method, path string, in any) error {
	var st httpapi.LabState
	if err := c.admin.send(ctx, method, path, in, &st); err != nil {
		return err
	}
	printLabState(c.out, st)
	return nil
}

func (c labClient) burst(ctx context.Context, in map[string]any) error {
	var res httpapi.BurstResult
	if err := c.admin.send(ctx, http.MethodPost, "/burst", in, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "accepted %d commands over %d shipments", res.Accepted, len(res.Shipments))
	if n := len(res.Shipments); n > 0 {
		fmt.Fprintf(c.out, " (%s … %s)", res.Shipments[0], res.Shipments[n-1])
	}
	fmt.Fprintln(c.out)
	return nil
}

func (c labClient) poison(ctx context.Context, shipmentID string) error {
	var res httpapi.PoisonResult
	if err := c.admin.send(ctx, http.MethodPost, "/poison", map[string]string{"shipmentId": shipmentID}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "poison message sent to shipment %s: operation %s (GET /v1/operations/%s)\n",
		res.ShipmentID, res.OperationID, res.OperationID)
	return nil
}

// printLabState prints what the process's lab controls are set to; a part
// it does not run is not there.
func printLabState(w io.Writer, st httpapi.LabState) {
	for _, x := range []struct{ name, value string }{
		{"worker", st.Worker}, {"projector", st.Projector}, {"write delay", st.WriteDelay},
	} {
		if x.value != "" {
			fmt.Fprintf(w, "%-12s %s\n", x.name+":", x.value)
		}
	}
}
