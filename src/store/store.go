package store

import (
	"context"
	"errors"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// ErrConflict: a write raced another one (the shipment's version moved, or
// the operation was recorded meanwhile). The whole transaction is rolled back;
// retrying it is safe and will see the other write.
var ErrConflict = errors.New("store: conflicting write")

// ErrUnavailable: the database cannot answer or cannot write for now — it is
// down, failing over or waking, the connection broke, another process holds
// its lock, the disk is full — and nothing of the call was kept. The same call
// may succeed later; callers retry it with a backoff rather than treating it
// as a fault of what they were doing. Adapters mark such errors with it (their
// own error stays in the chain).
var ErrUnavailable = errors.New("store: unavailable")

// WriteStore is the worker's database.
type WriteStore interface {
	// Update runs fn in one write transaction and commits it if fn returns
	// nil; if fn or the commit fails nothing of it is kept and the error is
	// returned. Update is safe for concurrent use; the adapter serialises or
	// isolates transactions so that fn sees a consistent state. fn must not
	// keep tx after it returns.
	Update(ctx context.Context, fn func(ctx context.Context, tx WriteTx) error) error
	// Shipments lists live (not cancelled) shipments with id > after in id
	// order, at most limit: how a projection is checked against the write side
	// (dropoff check, and dropoff load at the end of a run).
	Shipments(ctx context.Context, after string, limit int) ([]shipment.Shipment, error)
	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
}

// WriteTx is what a command may read and write inside one transaction.
type WriteTx interface {
	// Operation returns the recorded outcome of operation id, if any.
	Operation(ctx context.Context, id string) (operation.Operation, bool, error)
	// Shipment returns the shipment's current state, a cancelled one included
	// (Deleted=true); false if the id was never used.
	Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error)
	// IdempotencyKey returns what a key digest was first used for, if it was.
	IdempotencyKey(ctx context.Context, keyDigest string) (IdempotencyKey, bool, error)
	// Record writes everything one command leaves behind and appends one
	// entry to the change feed, within the transaction. With a Shipment, the
	// stored version must be Shipment.Version-1 (0: no row), else ErrConflict.
	// An operation already recorded is replaced only if it failed with
	// DeadLettered (a resubmitted dead letter); otherwise ErrConflict.
	Record(ctx context.Context, r Record) error
}

// IdempotencyKey remembers the first request sent with a key.
type IdempotencyKey struct {
	KeyDigest     string // SHA-256 of the client's Idempotency-Key, hex
	RequestDigest string // SHA-256 of the request it came with, hex
	OperationID   string
}

// Record is what processing one command leaves behind.
type Record struct {
	// Operation is the outcome (Succeeded or Failed).
	Operation operation.Operation
	// Shipment is the new state, when the command changed one; nil otherwise.
	Shipment *shipment.Shipment
	// Change says what happened to Shipment (created, replaced, patched, deleted).
	Change shipment.ChangeType
	// IdempotencyKey is remembered when the command carried a key not seen before.
	IdempotencyKey *IdempotencyKey
	// Traceparent is the W3C trace context of the transaction that wrote the
	// record, kept with its feed entry so that the projector's span can link
	// to the command's trace (docs/observability.md); "" for none.
	Traceparent string
}

// Change is one entry of the change feed: what one command left behind.
type Change struct {
	// Position orders the feed; it only grows, in commit order as a reader sees it.
	Position    int64
	Operation   operation.Operation
	Shipment    *shipment.Shipment // nil when the shipment did not change
	Change      shipment.ChangeType
	CommittedAt time.Time // the write transaction's clock
	// Traceparent is Record.Traceparent: "" when the record had none, or was
	// written before the feed kept it.
	Traceparent string
}

// Feed reads the write store's change feed.
type Feed interface {
	// ReadChanges returns up to limit entries with Position > after, in
	// Position order. It never returns an entry while one with a lower position
	// may still commit: a reader that advances past what it was given can never
	// skip an entry. Safe for concurrent use.
	ReadChanges(ctx context.Context, after int64, limit int) ([]Change, error)
	// Head returns the highest position ReadChanges could return now (0 if none).
	Head(ctx context.Context) (int64, error)
	// Identity names this feed: an id written once, when the write database
	// was created, that no other database has. A projection records the
	// identity of the feed it follows, and the projector refuses a feed with
	// another one: positions of one feed mean nothing in another.
	Identity(ctx context.Context) (string, error)
}

// FeedLag is what the query API reads of the write database's feed to tell
// how far behind the projection is, measured against the feed itself rather
// than the projector's last look (which stops when the projector does). On
// SQL Server the query API's user may read only the feed's position and
// commit-time columns.
type FeedLag interface {
	// FeedLag returns the feed's head (as Head) and the commit time of the
	// first entry after after that ReadChanges could return now, or the zero
	// time when there is none.
	FeedLag(ctx context.Context, after int64) (head int64, next time.Time, err error)
}

// Retention (docs/retention.md): what exists only to make the pipeline safe
// is deleted once its window has passed. Each method deletes at most limit
// rows, in a short transaction of its own, and returns how many it deleted;
// a caller repeats while a full batch comes back. Shipments and their
// history are the product's data and are never trimmed.

// FeedTrimmer trims a change feed.
type FeedTrimmer interface {
	// TrimFeed deletes entries with Position < below that committed before
	// before. below is the projection's checkpoint: every entry under it is
	// applied, and the one at it stays, since the projector checks it is
	// still there. It may look only at the oldest entries, so an entry it
	// keeps can hold back younger ones for a pass.
	TrimFeed(ctx context.Context, below int64, before time.Time, limit int) (int, error)
}

// OperationTrimmer trims recorded operations (the write database's inbox,
// or the projection's copies that GET /v1/operations reads).
type OperationTrimmer interface {
	// TrimOperations deletes operations last updated before before.
	TrimOperations(ctx context.Context, before time.Time, limit int) (int, error)
}

// KeyTrimmer trims idempotency keys.
type KeyTrimmer interface {
	// TrimIdempotencyKeys deletes keys first used before before.
	TrimIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error)
}

// Compacter gives a database file's free space back, where the database
// keeps it otherwise (SQLite does; SQL Server reuses it within its files).
type Compacter interface {
	Compact(ctx context.Context) error
}

// Projection is the projector's side of the read database.
type Projection interface {
	// Apply applies changes in order and sets the checkpoint to the last
	// one's position, in one transaction: all or nothing. Entries at or below
	// the current checkpoint are skipped, so applying a batch twice is
	// harmless. feedHead is recorded for Stats. Not safe for concurrent use
	// (one projector per projection database).
	// It also records, with the checkpoint, the operation id of the entry at
	// the checkpoint (see Checkpoint).
	Apply(ctx context.Context, changes []Change, feedHead int64) error
	// Checkpoint returns how far the projection has applied its feed.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// Follow records that the projection follows the feed named identity,
	// unless it follows one already, and returns the identity it follows.
	Follow(ctx context.Context, identity string) (string, error)
}

// Checkpoint is how far a projection has applied its feed.
type Checkpoint struct {
	// Position is the last applied entry's (0 if none).
	Position int64
	// OperationID is that entry's operation id, "" if none or not known (a
	// projection applied by a version that did not record it). The projector
	// checks that the feed still has this entry at Position: a write database
	// restored from an older copy, or failed over to one that lags, does not,
	// and the projector stops instead of skipping what is new there.
	OperationID string
	// FeedIdentity is the identity of the feed the projection follows (Follow),
	// "" until it follows one.
	FeedIdentity string
}

// Queries is the query API's side of the read database. Safe for concurrent use.
type Queries interface {
	// Shipment returns a live shipment; false if unknown or cancelled.
	Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error)
	// Shipments lists live shipments in id order after q.After, filtered by
	// q.Status when set, at most q.Limit; more reports whether any follow.
	Shipments(ctx context.Context, q ListQuery) (items []shipment.Shipment, more bool, err error)
	// History lists a shipment's applied changes in version order; a cancelled
	// shipment keeps its history. false if the id never had a change.
	History(ctx context.Context, id string) ([]HistoryEntry, bool, error)
	// Operation returns a recorded operation; false if none is recorded yet.
	Operation(ctx context.Context, id string) (operation.Operation, bool, error)
	// RecentOperations returns the operations updated last, newest first (by
	// LastUpdatedAt, then id, both descending), at most limit (which must be
	// positive): what the live page shows first, and what a query API
	// running apart from the worker tails.
	RecentOperations(ctx context.Context, limit int) ([]operation.Operation, error)
	// Stats counts live shipments by status and reports the projection's position.
	Stats(ctx context.Context) (Stats, error)
	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
}

// ListQuery selects a page of shipments.
type ListQuery struct {
	Status shipment.Status // "" for all
	After  string          // the last id of the previous page, "" for the first
	Limit  int
}

// HistoryEntry is one applied change of a shipment.
type HistoryEntry struct {
	Version     int64
	Type        shipment.ChangeType
	Status      shipment.Status
	At          time.Time
	OperationID string
}

// Stats describes the projection.
type Stats struct {
	ByStatus   map[shipment.Status]int64
	Checkpoint int64 // position of the last applied feed entry
	FeedHead   int64 // the feed's head when the projector last looked
	// LastCommittedAt and LastAppliedAt time the last applied entry: when the
	// worker committed it and when the projector applied it.
	LastCommittedAt time.Time
	LastAppliedAt   time.Time
}
