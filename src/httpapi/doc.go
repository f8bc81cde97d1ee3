// Package httpapi is every line of Gin in Dropoff: the router, RFC 9457
// problem details, the command routes, the query routes, operations, the
// dead-letter admin routes, health, readiness and metrics.
//
// New builds one http.Handler from a Config. Each part is switched on by its
// dependency, so the same package serves every role: a Sender turns on
// PUT/PATCH/DELETE /v1/shipments/{id} (the command API), Queries turns on the
// GET routes (the query API), DeadLetters turns on /admin/v1/deadletters.
// /healthz, /readyz and /openapi.yaml are always there, /metrics when a
// Registry is given.
//
// docs/openapi.yaml describes every route, header, body and problem exactly
// (OpenAPI 3.1); /openapi.yaml serves it. The package's tests check every
// response they get against it (package apitest), and fail when a route is
// served that it does not describe, or the other way round.
//
// # Imports
//
// Only package main (src/cmd/dropoff) imports httpapi. httpapi imports the
// domain (shipment, operation), the message contract (command) and the ports
// (bus, store) — never an adapter: it sees a queue only as a CommandSender and
// a database only as store.Queries, which is what makes it testable with
// hand-written fakes.
//
// # Commands
//
// A command route checks only what needs no state: the id, the media type, the
// body's size, syntax, shape, types, lengths and enums (with the shipment
// package's own validators), and the If-Match and Idempotency-Key headers. A
// request that fails any of them gets a 4xx problem and nothing is sent. One
// that passes becomes a command.Command, is sent to the queue, and only once
// Send has returned nil — the bus stored it durably — does the client get
// 202 Accepted, Location and Operation-Location: /v1/operations/{id},
// Retry-After: 1 and the operation (status NotStarted). If Send fails the
// answer is 503 with Retry-After, never a 202.
//
// # Operation ids and Idempotency-Key
//
// Without an Idempotency-Key an operation id is a fresh UUIDv7 (operation.NewID),
// whose first bits are the time it was made. With one, the key is hashed
// (hex SHA-256; the key itself never leaves this package) into
// Command.IdempotencyKey, and the id is operation.KeyedID(keyDigest,
// cmd.Digest()), a UUIDv8:
//
//   - the same key with the same request gives the same id: the retry is the
//     same message id, which the bus drops as a duplicate within its detection
//     window, and which the worker's inbox recognises after it. One effect.
//   - the same key with a different request gives a different id; the worker
//     sees the key was first used for another request and fails that
//     operation with IdempotencyKeyReused. It is never applied.
//
// The command API keeps no state, so a retry of a command already done gets a
// 202 NotStarted again; its operation, polled, shows the real outcome.
//
// # Operations nobody has recorded yet
//
// The command API writes no database, so until the worker records an
// operation the projection has no row for it. GET /v1/operations/{id} then
// answers from the id alone, with no lookup anywhere else:
//
//   - a UUIDv7 made within Config.OperationTTL (the queue's time to live, plus
//     a minute of clock skew, and not more than a minute in the future) may
//     still be on the queue: 200 NotStarted, createdAt from the id, Retry-After.
//     Commands are sent with that time to live, so an older one has either
//     been recorded or has expired: 404.
//   - a keyed UUIDv8 carries no time, and the command API keeps no list of the
//     keys it saw, so an unknown keyed id cannot be told from one still queued:
//     it answers 200 NotStarted (without kind, resourceLocation or createdAt),
//     for ever. That is the price of a stateless command API; the alternative
//     is a write to a database on every command.
//   - anything else, a malformed id included, is 404: ids are opaque, so a bad
//     one is just one that does not exist.
//
// # Problems
//
// Every error is application/problem+json with type, title, status (equal to
// the HTTP status) and detail; validation problems list the offending fields
// in errors: [{"field", "message"}] (a header or query parameter is named as
// such: "If-Match", "limit"). Clients switch on type, a stable URI:
//
//	https://dropoff.dev/problems/validation              400 a field, parameter or header is wrong
//	https://dropoff.dev/problems/malformed-body          400 the body is not one JSON object
//	https://dropoff.dev/problems/unauthorized            401 no bearer token, or one that is refused (Config.Auth)
//	https://dropoff.dev/problems/forbidden               403 a token without the route's app role; an admin route from a non-loopback client with no Config.Auth
//	https://dropoff.dev/problems/not-found               404 no such route, shipment, operation or dead letter
//	https://dropoff.dev/problems/method-not-allowed      405 see the Allow header
//	https://dropoff.dev/problems/payload-too-large       413 the body is over 64 KiB
//	https://dropoff.dev/problems/unsupported-media-type  415 the body is not application/json
//	https://dropoff.dev/problems/internal                500 a bug; logged
//	https://dropoff.dev/problems/unavailable             503 the queue or a database failed; see Retry-After
//	https://dropoff.dev/problems/overloaded              503 a command while the queue's backlog is past its bound (Config.MaxBacklog); see Retry-After
//	https://dropoff.dev/problems/not-ready               503 /readyz: a dependency check failed
//
// Bad input is always a 4xx: never a 5xx, a panic or a hung request. The one
// function problemFor maps errors to problems.
//
// # Authentication
//
// With Config.Auth set, every command, query and admin route needs
// Authorization: Bearer <token>, a JWT that Config.Auth verifies (package
// auth: signature, issuer, audience, expiry), holding the app role the route
// needs: auth.RoleSend for commands, auth.RoleRead for queries, auth.RoleAdmin
// for dead letters. No token or a refused one is 401 with a WWW-Authenticate
// challenge; a token without the role is 403 (RFC 6750). The check runs
// before anything else, so a refused command is never sent. /healthz, /readyz
// and /metrics stay open.
//
// Without Config.Auth the API runs open, except the admin routes: they then
// answer only to loopback clients, judged by the connection's address (never
// by X-Forwarded-For, which a client can forge).
package httpapi
