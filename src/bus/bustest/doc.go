// Package bustest is the contract suite of package bus: one small test per
// guarantee the worker and the command API rely on, run against any adapter
// with Run. Package sqlitebus runs it on every test run; package servicebus
// runs it against a real queue when one is configured.
//
// The suite is written for a queue that others use too. Every test makes its
// own session and message ids, tolerates sessions it did not create (it holds
// them untouched until it is done, then closes them, so that "accept the next
// session" moves past them), and reads the queue's settings — maximum
// delivery count, lock duration, whether expired messages are dead-lettered —
// from Settings() instead of assuming them. Tests whose waiting would be too
// long for the queue's settings skip, saying why.
//
// Only test code imports this package.
package bustest
