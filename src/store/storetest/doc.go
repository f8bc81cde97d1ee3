// Package storetest holds the contract suites every adapter of the store
// ports runs, in the manner of testing/fstest: an adapter's own test calls
//
//	storetest.RunWriteStore(t, openWrite)
//	storetest.RunProjection(t, openProjection)
//	storetest.RunPipeline(t, openWrite, openProjection)
//
// with functions that open a fresh, empty database, and so proves it keeps the
// promises written in package store: records round-trip, a failed Update
// leaves nothing, racing writers produce one effect, the optimistic version
// check holds, the change feed never lets a reader skip an entry committed out
// of order, the projection applies a batch and its checkpoint all or nothing,
// pages are stable, and a random workload leaves the projection equal to the
// write database.
//
// Each behaviour is a small named subtest, so a failure names the promise it
// broke. Times in the fixtures are whole multiples of 100ns, the finest SQL
// Server's datetime2 keeps; they must round-trip as the same instant.
//
// Only adapter tests import this package.
package storetest
