package main

import (
	"cmp"
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
	url := fs.String("url", cmp.Or(getenv("DROPOFF_URL"), "http://127.0.0.1:8080"), "the process's base URL [DROPOFF_URL]")
	token := fs.String("token", getenv("DROPOFF_ADMIN_TOKEN"), "the admin bearer token; empty: none (the API then answers loopback clients only) [DROPOFF_ADMIN_TOKEN]")
	commands := fs.Int("commands", 200, "burst: how many commands")
	shipments := fs.Int("shipments", 10, "burst: over how many shipments")
	prefix := fs.String("prefix", "lab", "burst: the shipments' ids are PREFIX-000, PREFIX-001, …")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c := adminClient{base: *url + "/admin/lab", token: *token, name: "lab"}
	one := func() (string, error) {
		if len(positional) != 1 {
			return "", fmt.Errorf("lab %s: want one argument; see dropoff lab -h", action)
		}
		return positional[0], nil
	}
	if action == "status" || action == "burst" {
		if len(positional) > 0 {
			return fmt.Errorf("lab %s: unexpected argument %q", action, positional[0])
		}
	} else if _, err := one(); err != nil {
		return err
	}
	switch action {
	case "status":
		var st httpapi.LabState
		if err := c.do(ctx, http.MethodGet, "", &st); err != nil {
			return err
		}
		printLabState(stdout, st)
		return nil
	case "burst":
		var res httpapi.BurstResult
		in := map[string]any{"commands": *commands, "shipments": *shipments, "prefix": *prefix}
		if err := c.send(ctx, http.MethodPost, "/burst", in, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "accepted %d commands over %d shipments (%s … %s)\n", res.Accepted, len(res.Shipments),
			res.Shipments[0], res.Shipments[len(res.Shipments)-1])
		return nil
	case "poison":
		var res httpapi.PoisonResult
		if err := c.send(ctx, http.MethodPost, "/poison", map[string]string{"shipmentId": positional[0]}, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "poison message sent to shipment %s: operation %s (GET /v1/operations/%s)\n",
			res.ShipmentID, res.OperationID, res.OperationID)
		return nil
	case "pause", "resume", "restart":
		part := positional[0]
		if part != "worker" && part != "projector" {
			return fmt.Errorf("lab %s: %q is not worker or projector", action, part)
		}
		var st httpapi.LabState
		if err := c.do(ctx, http.MethodPost, "/"+part+"/"+action, &st); err != nil {
			return err
		}
		printLabState(stdout, st)
		return nil
	case "slow":
		d, err := time.ParseDuration(positional[0])
		if err != nil {
			return fmt.Errorf("lab slow: %q is not a duration such as 250ms or 0s", positional[0])
		}
		var st httpapi.LabState
		if err := c.send(ctx, http.MethodPut, "/write-delay", map[string]string{"delay": d.String()}, &st); err != nil {
			return err
		}
		printLabState(stdout, st)
		return nil
	}
	return fmt.Errorf("lab: unknown action %q (want status, burst, poison, pause, resume, restart or slow)", action)
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
