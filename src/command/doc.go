// Package command is the message contract between the command API and the
// worker: the command kinds, the schema version, and how a command is encoded
// to a bus message and decoded from one.
//
// Each kind is a Spec in a file of its own (upsert.go, patch.go, cancel.go):
// its route, its payload's decoder, its decision against the shipment and a
// sample payload. Everything else reads the kinds from Specs; adding one is
// docs/extending.md.
//
//	MessageID   = operation id (the bus drops duplicates by it)
//	SessionID   = shipment id (commands on one shipment apply in order), or
//	              with lanes the shipment's lane (Lane)
//	Subject     = kind: shipment.upsert | shipment.patch | shipment.delete
//	ContentType = application/json
//	properties  = schemaVersion, operationId, acceptedAt, traceparent and
//	              Diagnostic-Id (W3C trace context of the send, the same
//	              value under both names), tracestate where there is one,
//	              ifMatch where given,
//	              idempotencyKey (the key's SHA-256) where given,
//	              shipmentId (the shipment; a message without it is for
//	              the shipment its session names)
//	Body        = the command payload as JSON
//
// Decode rejects what the worker cannot process with a *DecodeError whose
// Reason becomes the dead-letter reason. It imports the domain and the bus port.
package command
