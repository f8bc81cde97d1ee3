// Package cputime reads how much CPU time this process has used, user and
// system together. Unlike wall time it barely depends on what else the
// machine is doing, which makes it the steadier measure of a benchmark's or
// a server's own cost on a shared machine. The load tool reports it per
// command, and the benchmarks of the queue, the stores and the worker.
package cputime

import "time"

// Used is the CPU time this process has used so far; 0 where the system
// cannot say (see the file for each system).
func Used() time.Duration { return used() }
