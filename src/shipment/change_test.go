package shipment

import (
	"errors"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func fields(status Status) Fields {
	return Fields{Recipient: "Ada", Destination: "1 Main St", WeightGrams: 100, Service: Standard, Status: status}
}

func at(status Status, version int64) Shipment {
	return Shipment{ID: "s", Recipient: "Ada", Destination: "1 Main St", WeightGrams: 100, Service: Standard,
		Status: status, Version: version, CreatedAt: t0, UpdatedAt: t0}
}

func ptr[T any](v T) *T { return &v }

func TestPut(t *testing.T) {
	tests := []struct {
		name        string
		cur         Shipment
		exists      bool
		f           Fields
		ifMatch     int64
		wantErr     error
		wantStatus  Status
		wantVersion int64
		wantChange  ChangeType
	}{
		{"create defaults to registered", Shipment{}, false, fields(""), 0, nil, Registered, 1, Created},
		{"create with a status", Shipment{}, false, fields(InTransit), 0, nil, InTransit, 1, Created},
		{"replace keeps the status when none given", at(InTransit, 3), true, fields(""), 0, nil, InTransit, 4, Replaced},
		{"replace may move forward", at(PickedUp, 2), true, fields(Delivered), 0, nil, Delivered, 3, Replaced},
		{"replace may not go back", at(InTransit, 2), true, fields(Registered), 0, ErrInvalidTransition, "", 0, ""},
		{"nothing changes after delivered", at(Delivered, 5), true, fields(""), 0, ErrInvalidTransition, "", 0, ""},
		{"If-Match at the current version", at(Registered, 2), true, fields(""), 2, nil, Registered, 3, Replaced},
		{"stale If-Match", at(Registered, 2), true, fields(""), 1, ErrPreconditionFailed, "", 0, ""},
		{"If-Match on a shipment that does not exist", Shipment{}, false, fields(""), 1, ErrPreconditionFailed, "", 0, ""},
		{"re-create after a cancel continues the version", Shipment{ID: "s", Version: 4, Deleted: true, Status: InTransit}, true, fields(""), 0, nil, Registered, 5, Created},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, change, err := Put(tt.cur, tt.exists, "s", tt.f, tt.ifMatch, t1)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Status != tt.wantStatus || got.Version != tt.wantVersion || change != tt.wantChange || got.Deleted {
				t.Errorf("got status %s version %d change %s deleted %v, want %s %d %s false",
					got.Status, got.Version, change, got.Deleted, tt.wantStatus, tt.wantVersion, tt.wantChange)
			}
			if got.UpdatedAt != t1 || got.Recipient != tt.f.Recipient {
				t.Errorf("got %+v, want the fields applied at %v", got, t1)
			}
			if wantCreated := map[bool]time.Time{true: t1, false: t0}[change == Created]; got.CreatedAt != wantCreated {
				t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, wantCreated)
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name       string
		cur        Shipment
		exists     bool
		p          Patch
		ifMatch    int64
		wantErr    error
		wantStatus Status
	}{
		{"unknown shipment", Shipment{}, false, Patch{Recipient: ptr("x")}, 0, ErrNotFound, ""},
		{"cancelled shipment", Shipment{Version: 2, Deleted: true}, true, Patch{Recipient: ptr("x")}, 0, ErrNotFound, ""},
		{"fields only", at(PickedUp, 1), true, Patch{Recipient: ptr("x")}, 0, nil, PickedUp},
		{"skip steps forward", at(Registered, 1), true, Patch{Status: ptr(OutForDelivery)}, 0, nil, OutForDelivery},
		{"same status", at(InTransit, 1), true, Patch{Status: ptr(InTransit)}, 0, nil, InTransit},
		{"backwards", at(InTransit, 1), true, Patch{Status: ptr(PickedUp)}, 0, ErrInvalidTransition, ""},
		{"after delivered", at(Delivered, 1), true, Patch{Recipient: ptr("x")}, 0, ErrInvalidTransition, ""},
		{"stale If-Match", at(Registered, 3), true, Patch{Recipient: ptr("x")}, 2, ErrPreconditionFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, change, err := Merge(tt.cur, tt.exists, tt.p, tt.ifMatch, t1)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Status != tt.wantStatus || got.Version != tt.cur.Version+1 || change != Patched {
				t.Errorf("got status %s version %d change %s, want %s %d patched", got.Status, got.Version, change, tt.wantStatus, tt.cur.Version+1)
			}
			if tt.p.Recipient != nil && got.Recipient != *tt.p.Recipient {
				t.Errorf("recipient = %q, want %q", got.Recipient, *tt.p.Recipient)
			}
			if tt.p.Recipient == nil && got.Recipient != tt.cur.Recipient {
				t.Errorf("recipient changed to %q though the patch left it", got.Recipient)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	got, change, err := Cancel(at(InTransit, 3), true, 3, t1)
	if err != nil || !got.Deleted || got.Version != 4 || change != Cancelled {
		t.Fatalf("Cancel = %+v, %s, %v; want a tombstone at version 4", got, change, err)
	}
	if _, _, err := Cancel(at(Delivered, 3), true, 0, t1); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("cancel of a delivered shipment: %v, want ErrInvalidTransition", err)
	}
	if _, _, err := Cancel(got, true, 0, t1); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of a cancelled shipment: %v, want ErrNotFound", err)
	}
	if _, _, err := Cancel(at(Registered, 3), true, 2, t1); !errors.Is(err, ErrPreconditionFailed) {
		t.Errorf("stale If-Match: %v, want ErrPreconditionFailed", err)
	}
}

func TestStatusOrder(t *testing.T) {
	for i, from := range Statuses {
		for j, to := range Statuses {
			if got, want := from.CanMoveTo(to), j >= i; got != want {
				t.Errorf("%s → %s: CanMoveTo = %v, want %v", from, to, got, want)
			}
		}
		if from.CanMoveTo("lost") {
			t.Errorf("%s → an unknown status allowed", from)
		}
	}
}
