// Package store holds the ports of Dropoff's two databases.
//
// The write store is where the worker applies commands: in one transaction it
// checks the inbox (was this operation already applied?), decides with the
// shipment domain, saves the new state, records the operation's outcome and
// appends one entry to the change feed (WriteStore.Update with a WriteTx).
//
// The change feed is read in commit order by the projector (Feed), which
// applies each entry to the projection store together with its new
// checkpoint, in one transaction (Projection.Apply). The query API reads only
// the projection (Queries).
//
// Adapters: package sqlite (embedded, the default) and package sqlserver
// (SQL Server / Azure SQL). Both pass the suites in package storetest. This
// package imports only the domain packages and the standard library.
package store
