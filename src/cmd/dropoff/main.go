// Command dropoff runs Dropoff: all four roles in one process on embedded
// stores by default, or one role per process (command-api, worker, projector,
// query-api) as deployed. `dropoff help` lists subcommands and flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dropoff:", err)
		os.Exit(1)
	}
}
