package bus

import (
	"context"
	"errors"
	"time"
)

// Errors an adapter returns. Check them with errors.Is.
var (
	// ErrNoSession: no session with available messages could be locked before
	// the context's deadline. It means "no work", not a failure.
	ErrNoSession = errors.New("bus: no session available")
	// ErrLockLost: the session lock expired or was taken over; the messages of
	// the session will be delivered again, and settling them here fails.
	ErrLockLost = errors.New("bus: session lock lost")
	// ErrClosed: the Session, Receiver or Sender was closed.
	ErrClosed = errors.New("bus: closed")
	// ErrNotFound: no dead-lettered message with that sequence number.
	ErrNotFound = errors.New("bus: message not found")
)

// Dead-letter reasons that adapters set themselves.
const (
	ReasonMaxDeliveryCountExceeded = "MaxDeliveryCountExceeded"
	ReasonTTLExpired               = "TTLExpiredException"
)

// Message is what a sender puts on the queue.
type Message struct {
	// ID is the message id; duplicates within the detection window are dropped.
	ID string
	// SessionID groups messages that must be processed in order, one at a time.
	SessionID string
	// Subject says what the body is (Dropoff: the command kind).
	Subject     string
	ContentType string
	// Properties are application properties (Service Bus's ApplicationProperties).
	Properties map[string]string
	Body       []byte
	// TimeToLive bounds how long the message may wait; 0 means the queue's default.
	TimeToLive time.Duration
}

// ReceivedMessage is a message as a receiver sees it.
type ReceivedMessage struct {
	Message
	// SequenceNumber is unique within the queue and grows with every send.
	SequenceNumber int64
	// DeliveryCount is 1 on the first delivery and one higher on each after.
	DeliveryCount int
	EnqueuedAt    time.Time
	// ExpiresAt is when the message's time to live runs out (zero if never).
	ExpiresAt time.Time
	// DeadLetterReason and DeadLetterDescription are set on dead-lettered messages.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Sender puts messages on the queue. It must be safe for concurrent use.
type Sender interface {
	// Send stores msgs durably and returns nil only once all of them are
	// stored; on error none of them may be assumed stored (a retry with the
	// same message ids is safe: duplicates are dropped).
	Send(ctx context.Context, msgs ...Message) error
}

// Receiver hands out sessions. It must be safe for concurrent use: a worker
// runs several AcceptNextSession calls at once.
type Receiver interface {
	// AcceptNextSession locks the next session that has messages available and
	// returns it. It waits until one can be locked or ctx is done; when ctx's
	// deadline passes first it returns ErrNoSession, and when ctx is cancelled
	// it returns ctx.Err(). The caller must Close the Session.
	AcceptNextSession(ctx context.Context) (Session, error)
}

// Session is the exclusive hold on one session's messages. Its methods are
// not safe for concurrent use, except Close. The adapter renews the lock in
// the background until Close; if renewal fails, the other methods return
// ErrLockLost from then on.
type Session interface {
	// ID is the session id.
	ID() string
	// Receive returns up to max messages of the session, in order, waiting for
	// the first until ctx is done; then it returns no messages and ctx.Err()
	// (context.DeadlineExceeded for an idle session). Messages it returns are
	// locked until settled or until the session lock is lost.
	Receive(ctx context.Context, max int) ([]*ReceivedMessage, error)
	// Complete removes m from the queue.
	Complete(ctx context.Context, m *ReceivedMessage) error
	// Abandon releases m to be delivered again, or dead-letters it with
	// ReasonMaxDeliveryCountExceeded if its delivery count has reached the
	// queue's maximum.
	Abandon(ctx context.Context, m *ReceivedMessage) error
	// DeadLetter moves m to the dead-letter queue with a reason and description.
	DeadLetter(ctx context.Context, m *ReceivedMessage, reason, description string) error
	// Close releases the session lock; unsettled messages become available to
	// the next receiver. It stops lock renewal and waits for it to end.
	Close(ctx context.Context) error
}

// DeadLetters is the admin view of the dead-letter queue.
type DeadLetters interface {
	// PeekDeadLetters returns up to max dead-lettered messages with a sequence
	// number at or above from, oldest first, without locking or removing them.
	PeekDeadLetters(ctx context.Context, from int64, max int) ([]*ReceivedMessage, error)
	// ResubmitDeadLetter sends a copy of the dead-lettered message seq back to
	// the main queue (same session, subject, properties and body; a new message
	// id, since Service Bus would drop the old one as a duplicate within the
	// detection window), then removes it from the dead-letter queue.
	// ErrNotFound if there is none.
	ResubmitDeadLetter(ctx context.Context, seq int64) error
	// PurgeDeadLetters removes the dead-lettered messages and returns how many.
	// It calls before on each message, and removes the message only when
	// before returns nil: whoever purges first records what must outlive the
	// message (the worker, its operation's outcome), so nothing dead-lettered
	// goes unanswered because a purge raced the recorder. A message before
	// fails on stays, and the purge stops with that error. before may be
	// called on a message more than once, and on several at the same time.
	// Messages dead-lettered while the purge runs may stay.
	PurgeDeadLetters(ctx context.Context, before func(context.Context, *ReceivedMessage) error) (int, error)
}

// Backlog is how much work waits on the queue.
type Backlog struct {
	// Messages on the queue: waiting, or delivered and not yet settled
	// (Service Bus: its active message count). Dead letters are not counted.
	Messages int64
	// OldestAge is how long the oldest of them has waited; zero when the
	// queue is empty or the adapter cannot tell (Service Bus's runtime
	// properties carry counts only).
	OldestAge time.Duration
}

// BacklogReader reports the queue's backlog; the command API sheds load by it.
type BacklogReader interface {
	Backlog(ctx context.Context) (Backlog, error)
}

// Settings are the queue's properties the worker and the tests depend on.
type Settings struct {
	MaxDeliveryCount  int
	LockDuration      time.Duration
	DuplicateWindow   time.Duration
	DefaultTimeToLive time.Duration
	// DeadLetterOnExpiration: expired messages go to the dead-letter queue
	// (reason ReasonTTLExpired) instead of being dropped.
	DeadLetterOnExpiration bool
}

// Pacing is how a consumer should pace its sessions on an adapter, which knows
// what its operations cost. On the embedded queue an accept or a receive is a
// local read that takes microseconds, so releasing an idle session after
// 20ms costs nothing. On Service Bus every accept is a claims negotiation and
// link attaches over the network, and the first message of a receive is a
// flow-and-transfer round trip plus broker time (tens of milliseconds), so
// waits measured in milliseconds would accept and close sessions without ever
// receiving. The worker takes these as its defaults; flags override them.
type Pacing struct {
	// AcceptTimeout bounds one wait for a session. The service itself holds
	// the request open that long, so a longer wait costs nothing while idle
	// and means fewer empty accepts.
	AcceptTimeout time.Duration
	// IdleTimeout releases a session that had no message for this long, so
	// that its slot goes back to other sessions. It must exceed a receive's
	// round trip with room to spare.
	IdleTimeout time.Duration
	// MaxSessionHold hands a busy session back after this long, so that one
	// session cannot keep a slot while others wait.
	MaxSessionHold time.Duration
}
