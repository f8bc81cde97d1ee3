package servicebus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// Hand-written fakes of the SDK interfaces in sdk.go. Each records what the
// adapter asked of it, under a mutex: the renewal goroutine and the test run
// side by side.

var (
	_ sessionReceiver = (*fakeSession)(nil)
	_ sessionAcceptor = (*fakeAcceptor)(nil)
	_ dlqReceiver     = (*fakeDLQ)(nil)
	_ dlqOpener       = (*fakeDLQ)(nil)
	_ sender          = (*fakeSender)(nil)
	_ messageBatch    = (*fakeBatch)(nil)
	_ closer          = (*fakeCloser)(nil)
)

func sbError(code azservicebus.Code) error { return &azservicebus.Error{Code: code} }

// fakeSession is a SessionReceiver. Receive answers come from the receive
// func (default: wait for ctx); RenewSessionLock from renew (default: ok).
type fakeSession struct {
	id string

	mu          sync.Mutex
	lockedUntil time.Time
	receive     func(ctx context.Context, max int) ([]*azservicebus.ReceivedMessage, error)
	renew       func(ctx context.Context, n int) error // n counts calls from 1
	renewals    int
	settleErr   error
	settled     []string // "complete 7", "abandon 7", "deadletter 7 reason/description"
	settledPtrs []*azservicebus.ReceivedMessage
	closes      int
	closeCtx    []closeContext
}

func (f *fakeSession) SessionID() string { return f.id }

func (f *fakeSession) LockedUntil() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lockedUntil
}

func (f *fakeSession) ReceiveMessages(ctx context.Context, max int, _ *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	f.mu.Lock()
	receive := f.receive
	f.mu.Unlock()
	if receive == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return receive(ctx, max)
}

func (f *fakeSession) settle(what string, m *azservicebus.ReceivedMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.settleErr != nil {
		return f.settleErr
	}
	f.settled = append(f.settled, fmt.Sprintf("%s %d", what, deref(m.SequenceNumber)))
	f.settledPtrs = append(f.settledPtrs, m)
	return nil
}

func (f *fakeSession) CompleteMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.CompleteMessageOptions) error {
	return f.settle("complete", m)
}

func (f *fakeSession) AbandonMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.AbandonMessageOptions) error {
	return f.settle("abandon", m)
}

func (f *fakeSession) DeadLetterMessage(_ context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.DeadLetterOptions) error {
	return f.settle(fmt.Sprintf("deadletter %s/%s", deref(o.Reason), deref(o.ErrorDescription)), m)
}

func (f *fakeSession) RenewSessionLock(ctx context.Context, _ *azservicebus.RenewSessionLockOptions) error {
	f.mu.Lock()
	f.renewals++
	n, renew := f.renewals, f.renew
	f.mu.Unlock()
	if renew == nil {
		return nil
	}
	return renew(ctx, n)
}

func (f *fakeSession) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	f.closeCtx = append(f.closeCtx, seeClose(ctx))
	return nil
}

func (f *fakeSession) snapshot() (renewals, closes int, settled []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.renewals, f.closes, slices.Clone(f.settled)
}

// fakeAcceptor hands out the sessions in its list, then answers err.
type fakeAcceptor struct {
	mu       sync.Mutex
	sessions []*fakeSession
	err      error
}

func (f *fakeAcceptor) acceptNextSession(ctx context.Context) (sessionReceiver, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sessions) > 0 {
		s := f.sessions[0]
		f.sessions = f.sessions[1:]
		return s, nil
	}
	if f.err != nil {
		return nil, f.err
	}
	<-ctx.Done()
	return nil, sbError(azservicebus.CodeTimeout)
}

// fakeBatch holds up to capacity messages, or bodies up to maxBody bytes.
type fakeBatch struct {
	capacity int
	maxBody  int
	msgs     []*azservicebus.Message
}

func (b *fakeBatch) AddMessage(m *azservicebus.Message, _ *azservicebus.AddMessageOptions) error {
	if len(b.msgs) == b.capacity || (b.maxBody > 0 && len(m.Body) > b.maxBody) {
		return azservicebus.ErrMessageTooLarge
	}
	b.msgs = append(b.msgs, m)
	return nil
}

func (b *fakeBatch) NumMessages() int32 { return int32(len(b.msgs)) }

// fakeSender records what was sent: one []string of message ids per send.
type fakeSender struct {
	mu       sync.Mutex
	capacity int // messages per batch; 0: 100
	maxBody  int
	sendErr  error
	batchErr error // from newBatch
	batches  int   // newBatch calls
	sends    [][]*azservicebus.Message
	closes   int
}

func (f *fakeSender) SendMessage(_ context.Context, m *azservicebus.Message, _ *azservicebus.SendMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return f.sendErr
	}
	f.sends = append(f.sends, []*azservicebus.Message{m})
	return nil
}

func (f *fakeSender) newBatch(context.Context) (messageBatch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches++
	if f.batchErr != nil {
		return nil, f.batchErr
	}
	capacity := f.capacity
	if capacity == 0 {
		capacity = 100
	}
	return &fakeBatch{capacity: capacity, maxBody: f.maxBody}, nil
}

func (f *fakeSender) sendBatch(_ context.Context, b messageBatch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return f.sendErr
	}
	f.sends = append(f.sends, b.(*fakeBatch).msgs)
	return nil
}

func (f *fakeSender) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	return nil
}

// sentIDs lists the message ids of each send, e.g. [[a b] [c]].
func (f *fakeSender) sentIDs() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]string
	for _, send := range f.sends {
		var ids []string
		for _, m := range send {
			ids = append(ids, deref(m.MessageID))
		}
		out = append(out, ids)
	}
	return out
}

type fakeCloser struct {
	mu     sync.Mutex
	closes int
}

func (f *fakeCloser) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	return nil
}

// fakeDLQ is a dead-letter queue: messages in the order they were
// dead-lettered (not by sequence number), some locked by a receive.
type fakeDLQ struct {
	mu         sync.Mutex
	msgs       []*azservicebus.ReceivedMessage
	locked     map[int64]bool
	perReceive int // most messages one receive returns; 0: no limit
	pageSize   int // most messages one peek returns; 0: no limit
	receives   int
	peeks      int
	peekErr    error
	abandoned  []int64
	completed  []int64
	opens      int
	closes     int
	closeCtx   []closeContext
}

// closeContext is what a Close saw of its context.
type closeContext struct {
	err         error
	deadline    time.Time
	hasDeadline bool
}

func seeClose(ctx context.Context) closeContext {
	dl, ok := ctx.Deadline()
	return closeContext{err: ctx.Err(), deadline: dl, hasDeadline: ok}
}

func (f *fakeDLQ) openDeadLetters(azservicebus.ReceiveMode) (dlqReceiver, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if f.locked == nil {
		f.locked = map[int64]bool{}
	}
	return f, nil
}

func (f *fakeDLQ) PeekMessages(_ context.Context, n int, o *azservicebus.PeekMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peeks++
	if f.peekErr != nil {
		return nil, f.peekErr
	}
	from := int64(0)
	if o != nil {
		from = deref(o.FromSequenceNumber)
	}
	bySeq := slices.Clone(f.msgs)
	slices.SortFunc(bySeq, func(a, b *azservicebus.ReceivedMessage) int {
		return int(deref(a.SequenceNumber) - deref(b.SequenceNumber))
	})
	if f.pageSize > 0 {
		n = min(n, f.pageSize)
	}
	var out []*azservicebus.ReceivedMessage
	for _, m := range bySeq {
		if deref(m.SequenceNumber) >= from && len(out) < n {
			out = append(out, m)
		}
	}
	return out, nil
}

func (f *fakeDLQ) ReceiveMessages(ctx context.Context, n int, _ *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	f.mu.Lock()
	f.receives++
	if f.perReceive > 0 {
		n = min(n, f.perReceive)
	}
	var out []*azservicebus.ReceivedMessage
	for _, m := range f.msgs {
		if seq := deref(m.SequenceNumber); !f.locked[seq] && len(out) < n {
			f.locked[seq] = true
			out = append(out, m)
		}
	}
	f.mu.Unlock()
	if len(out) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return out, nil
}

func (f *fakeDLQ) CompleteMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.CompleteMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := deref(m.SequenceNumber)
	if !f.locked[seq] {
		return errors.New("fake: complete of a message not locked")
	}
	f.msgs = slices.DeleteFunc(f.msgs, func(x *azservicebus.ReceivedMessage) bool { return x == m })
	delete(f.locked, seq)
	f.completed = append(f.completed, seq)
	return nil
}

func (f *fakeDLQ) AbandonMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.AbandonMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := deref(m.SequenceNumber)
	delete(f.locked, seq)
	f.abandoned = append(f.abandoned, seq)
	return nil
}

func (f *fakeDLQ) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	f.closeCtx = append(f.closeCtx, seeClose(ctx))
	return nil
}

// remaining lists the sequence numbers still dead-lettered, in queue order.
func (f *fakeDLQ) remaining() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int64
	for _, m := range f.msgs {
		out = append(out, deref(m.SequenceNumber))
	}
	return out
}
