package shipment

import (
	"fmt"
	"time"
)

// ChangeType names what a command did to a shipment; it labels history entries.
type ChangeType string

// The kinds of change.
const (
	Created   ChangeType = "created"
	Replaced  ChangeType = "replaced"
	Patched   ChangeType = "patched"
	Cancelled ChangeType = "deleted" // the value predates the name: history entries keep it
)

// The functions below are the whole rule book. Each takes the current state
// (exists=false when the id was never used; a cancelled shipment has
// Deleted=true), the version the client required (0 = none, from If-Match)
// and the time, and returns the next state or a business failure. They never
// touch storage: the caller loads, decides, and saves in one transaction.

// Put creates a shipment, or replaces every field of an existing one.
func Put(cur Shipment, exists bool, id string, f Fields, ifMatch int64, now time.Time) (Shipment, ChangeType, error) {
	live := exists && !cur.Deleted
	if err := checkPrecondition(cur, live, ifMatch); err != nil {
		return Shipment{}, "", err
	}
	if !live {
		status := f.Status
		if status == "" {
			status = Registered
		}
		next := Shipment{
			ID: id, Recipient: f.Recipient, Destination: f.Destination,
			WeightGrams: f.WeightGrams, Service: f.Service, Status: status,
			Version: cur.Version + 1, CreatedAt: now, UpdatedAt: now,
		}
		return next, Created, nil
	}
	status := f.Status
	if status == "" {
		status = cur.Status
	}
	if err := checkMove(cur, status); err != nil {
		return Shipment{}, "", err
	}
	next := cur
	next.Recipient, next.Destination, next.WeightGrams, next.Service, next.Status =
		f.Recipient, f.Destination, f.WeightGrams, f.Service, status
	next.Version, next.UpdatedAt = cur.Version+1, now
	return next, Replaced, nil
}

// Merge merges a patch into an existing shipment.
func Merge(cur Shipment, exists bool, p Patch, ifMatch int64, now time.Time) (Shipment, ChangeType, error) {
	live := exists && !cur.Deleted
	if !live {
		return Shipment{}, "", ErrNotFound
	}
	if err := checkPrecondition(cur, live, ifMatch); err != nil {
		return Shipment{}, "", err
	}
	next := cur
	if p.Recipient != nil {
		next.Recipient = *p.Recipient
	}
	if p.Destination != nil {
		next.Destination = *p.Destination
	}
	if p.Service != nil {
		next.Service = *p.Service
	}
	if p.Status != nil {
		next.Status = *p.Status
	}
	if err := checkMove(cur, next.Status); err != nil {
		return Shipment{}, "", err
	}
	next.Version, next.UpdatedAt = cur.Version+1, now
	return next, Patched, nil
}

// Cancel removes a shipment that is not yet delivered. The result is a
// tombstone (Deleted=true) one version up.
func Cancel(cur Shipment, exists bool, ifMatch int64, now time.Time) (Shipment, ChangeType, error) {
	live := exists && !cur.Deleted
	if !live {
		return Shipment{}, "", ErrNotFound
	}
	if err := checkPrecondition(cur, live, ifMatch); err != nil {
		return Shipment{}, "", err
	}
	if cur.Status.Final() {
		return Shipment{}, "", fmt.Errorf("%w: a %s shipment cannot be cancelled", ErrInvalidTransition, cur.Status)
	}
	next := cur
	next.Deleted, next.Version, next.UpdatedAt = true, cur.Version+1, now
	return next, Cancelled, nil
}

// checkPrecondition enforces If-Match: the command applies only at that version.
// A shipment that does not exist has no version, so any If-Match fails.
func checkPrecondition(cur Shipment, live bool, ifMatch int64) error {
	if ifMatch == 0 {
		return nil
	}
	if !live {
		return fmt.Errorf("%w: If-Match %d but the shipment does not exist", ErrPreconditionFailed, ifMatch)
	}
	if cur.Version != ifMatch {
		return fmt.Errorf("%w: If-Match %d but the shipment is at version %d", ErrPreconditionFailed, ifMatch, cur.Version)
	}
	return nil
}

func checkMove(cur Shipment, next Status) error {
	if cur.Status.Final() {
		return fmt.Errorf("%w: a %s shipment cannot change", ErrInvalidTransition, cur.Status)
	}
	if !cur.Status.CanMoveTo(next) {
		return fmt.Errorf("%w: %s cannot go back to %s", ErrInvalidTransition, cur.Status, next)
	}
	return nil
}
