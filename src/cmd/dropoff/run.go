package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// run is the whole program, testable: arguments, environment and output are
// passed in, and it returns when ctx is cancelled (SIGINT/SIGTERM) or a role fails.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag package has printed the usage
	}
	return err
}

func runCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || isHelp(args[0])) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "-help", "--help":
		printHelp(stdout)
		return nil
	case "serve", "command-api", "worker", "projector", "query-api", "migrate", "createdb", "check":
	case "load":
		return runLoad(ctx, args, getenv, stdout, stderr)
	case "deadletters":
		return deadletters(ctx, args, getenv, stdout, stderr)
	case "lab":
		return lab(ctx, args, getenv, stdout, stderr)
	case "dbinit":
		return dbinit(ctx, args, getenv, stderr)
	default:
		return fmt.Errorf("unknown subcommand %q; see dropoff help", cmd)
	}
	c, err := parseConfig(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(c, stderr)
	switch cmd {
	case "migrate":
		return migrate(ctx, c, logger)
	case "createdb":
		return createDatabases(ctx, c, logger)
	case "check":
		return check(ctx, c, logger, stdout)
	}
	tuneGC(getenv)
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop() // after the roles stopped
	}
	tracing, err := startTracing(ctx, cmd, getenv, logger)
	if err != nil {
		return err
	}
	defer stopTracing(tracing, logger) // after the roles stopped: their last spans go too
	m := newMain(c, logger, rolesOf(cmd, c.Mode), tracing)
	if err := m.Open(ctx); err != nil {
		return err
	}
	if err := m.Wait(); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// gcPercent is the garbage collector's target when GOGC is not set: the
// heap may grow to five times what is live before a collection. Dropoff's
// live heap is a few megabytes and nearly all it allocates dies within a
// request or a message, so at Go's default (100) a busy process collects
// some 30 times a second; at 400 it collects a quarter as often, for some
// tens of megabytes more (docs/performance.md).
const gcPercent = 400

// tuneGC sets the collector's target to gcPercent unless GOGC says
// otherwise (the runtime reads GOGC itself; this only changes the default).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }
