// Package simulate makes the embedded stores behave, in time, like remote
// ones: Remote waits a network round trip around every bus operation,
// Delayed waits before every write transaction. They exist to measure what
// latency does to Dropoff (the capacity model in docs/capacity.md, dropoff
// --simulate-bus-rtt and --inject-write-delay, dropoff load --compare), and
// wrap the bus and store ports without changing what they do.
//
// The lab's switches (docs/live.md) live here too, for the same reason:
// Pause holds a worker (Pause.Receiver) or a projector (Pause.Feed) still,
// and Slowed is Delayed with a Knob that the lab turns while it runs.
package simulate
