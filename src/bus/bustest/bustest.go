package bustest

import (
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Queue is what the suite drives.
type Queue interface {
	bus.Sender
	bus.Receiver
	bus.DeadLetters
	Settings() bus.Settings
}

// Options tunes the suite for an adapter.
type Options struct {
	// Features declares where the adapter legitimately differs from others.
	Features Features
	// Reopen, when set, closes q and opens the same queue again (the embedded
	// queue: the same file); it enables the durability test.
	Reopen func(t *testing.T, q Queue) Queue
}

// Features are the behaviours in which adapters of the port differ and may:
// each adapter declares its own, and the suite holds it to its declaration
// rather than guessing (watermill's universal suite does the same). Where
// Service Bus is concerned, a declaration must say what Microsoft documents
// (docs/bus.md cites it), not what happens to pass.
type Features struct {
	// CloseRaisesDeliveryCount: a message received on a session that is then
	// closed, the message unsettled, comes back with its delivery count
	// raised. Service Bus does not raise it: the count rises when a lock
	// expires or a message is abandoned, not when a session is closed
	// ("Impact of delivery count", Service Bus message sessions).
	CloseRaisesDeliveryCount bool
	// Crash makes the holder of s behave as if its process had died: nothing
	// renews s's lock any more, and nothing settles, releases or closes it.
	// The lock then runs out on its own. It must not close s gracefully,
	// which would release the lock instead. Required.
	Crash func(t *testing.T, q Queue, s bus.Session)
}

// Run runs every behaviour as a named subtest against queues made by open.
//
// open may be called more than once in one subtest: each call must return a
// new handle on the same queue, as a second process would have (for an
// embedded queue, the same file for the whole subtest). open closes what it
// opens in t.Cleanup, and that Close must be harmless after Features.Crash
// has done its work on the handle.
func Run(t *testing.T, open func(t *testing.T) Queue, opts Options) {
	if opts.Features.Crash == nil {
		t.Fatal("bustest: Options.Features.Crash is required: declare how a crashed holder is simulated")
	}
	s := suite{open: open, opts: opts}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"RoundTripKeepsEveryField", s.testRoundTrip},
		{"TraceContextTravelsWithTheMessage", s.testTraceContext},
		{"FIFOWithinSessionsUnderConcurrentReceivers", s.testFIFO},
		{"OneReceiverPerSession", s.testExclusive},
		{"ExpiredLockRedelivers", s.testLockExpiry},
		{"CloseReleasesUnsettled", s.testCloseReleases},
		{"AbandonRedelivers", s.testAbandon},
		{"DeadLetterKeepsReasonAndDescription", s.testDeadLetter},
		{"MaxDeliveryCountDeadLetters", s.testMaxDelivery},
		{"DuplicateIDDropped", s.testDuplicate},
		{"ExpiredMessageLeavesQueue", s.testTTL},
		{"AcceptReturnsOnCancel", s.testAcceptCancel},
		{"AcceptDeadlineMeansNoSession", s.testAcceptDeadline},
		{"ReceiveReturnsOnContextEnd", s.testReceiveCancel},
		{"DeadLetterPeekResubmitPurge", s.testDeadLetterAdmin},
		{"SentMessageSurvivesReopen", s.testDurability},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// suite holds what every test needs.
type suite struct {
	open func(t *testing.T) Queue
	opts Options
}

// soon bounds every wait for something that should happen promptly; it is
// generous because a real queue is a network away.
const soon = 15 * time.Second

// maxLockForExpiry is the longest lock duration the suite waits out.
const maxLockForExpiry = 30 * time.Second
