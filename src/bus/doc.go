// Package bus is the port between the command API, the worker and whatever
// carries commands: Azure Service Bus in the cloud (package servicebus), a
// durable session queue in a SQLite file everywhere else (package sqlitebus).
//
// The semantics are Service Bus's, and every adapter must give them (package
// bustest checks each one):
//
//   - Send returns nil only once every message is durably stored. A message
//     whose ID was sent within the duplicate-detection window is accepted and
//     dropped.
//   - Messages carry a SessionID. Within a session, messages are delivered in
//     the order they were sent, and at most one receiver holds a session at a
//     time: it holds an exclusive lock on the whole session, its messages
//     included, which the adapter renews while the Session is open.
//   - Delivery is peek-lock: a received message stays in the queue until it is
//     settled on the Session that received it — completed (removed), abandoned
//     (delivered again, its delivery count one higher) or dead-lettered (moved
//     to the dead-letter queue with a reason and a description).
//   - A message is dead-lettered with reason MaxDeliveryCountExceeded instead of
//     being delivered again once its delivery count has reached the queue's
//     maximum. If a session lock is lost (the holder crashed, or stopped
//     renewing), its unsettled messages become available again, their delivery
//     count already raised.
//   - Messages whose time to live runs out are dead-lettered with reason
//     TTLExpiredException where the queue is configured so.
//
// Consumers declare the small interfaces they need (the command API needs only
// Sender); this package holds the whole contract. Only the standard library is
// imported.
package bus
