// Package servicebus is the bus port (package bus) on an Azure Service Bus
// queue with sessions, through the azservicebus SDK. Only the program's main
// package imports it; everything else sees bus.Sender, bus.Receiver and
// bus.DeadLetters.
//
// Service Bus already has the semantics the port describes: sessions locked
// by one receiver, FIFO within a session, peek-lock settlement, delivery
// counts, dead-lettering past MaxDeliveryCount and on expiry, duplicate
// detection by message id. The adapter adds what the Go SDK leaves to its
// callers:
//
//   - lock renewal: a goroutine per Session renews the session lock about
//     halfway through it, until Close (renew.go);
//   - error mapping: SDK error codes become bus.ErrNoSession, bus.ErrLockLost
//     and bus.ErrClosed (errors.go);
//   - settlement on the right receiver: a session's messages may only be
//     settled on the SessionReceiver that received them, so the Session keeps
//     each SDK message until it is settled (session.go);
//   - the dead-letter admin operations the port asks for, which Service Bus
//     has no single call for (deadletter.go).
//
// One Bus holds one azservicebus.Client, which is one AMQP connection, and
// one sender, for the life of the process; Close closes them and every open
// Session, and no goroutine of the adapter outlives it.
//
// The adapter reaches the SDK only through small interfaces (sdk.go) that the
// SDK's types satisfy, so its own logic is tested with hand-written fakes.
// TestContract runs the bus contract suite (package bustest) against a test
// queue of its own, on the emulator or a namespace, when the test variables
// DROPOFF_TEST_SERVICEBUS_* are set (never the program's own). docs/bus.md compares this adapter with
// the embedded queue (package sqlitebus) and lists the queue settings
// Dropoff expects.
package servicebus
