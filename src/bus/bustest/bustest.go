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
	// Reopen, when set, closes q and opens the same queue again (the embedded
	// queue: the same file); it enables the durability test.
	Reopen func(t *testing.T, q Queue) Queue
}

// Run runs every behaviour as a named subtest against queues made by open.
//
// open may be called more than once in one subtest: each call must return a
// new handle on the same queue, as a second process would have (for an
// embedded queue, the same file for the whole subtest). open closes what it
// opens in t.Cleanup, and that Close must be harmless after the suite has
// closed the handle itself: the lock-expiry test simulates a crashed process
// by closing a handle — a Close() error or Close(context.Context) error
// method — while one of its sessions is still open.
func Run(t *testing.T, open func(t *testing.T) Queue, opts Options) {
	s := suite{open: open, opts: opts}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"RoundTripKeepsEveryField", s.testRoundTrip},
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
