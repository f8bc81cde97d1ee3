//go:build race

package storetest

// raceEnabled reports a build with the race detector, which slows a pure Go
// SQLite about twentyfold: the pipeline workload shrinks to stay quick.
const raceEnabled = true
