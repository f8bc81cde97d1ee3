package sqlserver

import (
	"database/sql"
	"regexp"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

var (
	paramRef   = regexp.MustCompile(`@@?\w+`)
	declaredAt = regexp.MustCompile(`(?i)DECLARE\s+(@\w+)`)
)

// referencedParams lists the @names a statement uses, leaving out @@
// functions and variables the statement declares itself.
func referencedParams(query string) map[string]bool {
	declared := map[string]bool{}
	for _, m := range declaredAt.FindAllStringSubmatch(query, -1) {
		declared[m[1]] = true
	}
	refs := map[string]bool{}
	for _, p := range paramRef.FindAllString(query, -1) {
		if p[1] != '@' && !declared[p] {
			refs[p] = true
		}
	}
	return refs
}

// Every statement must get each parameter it names, once: a missing one
// fails on the server with "Must declare the scalar variable", a repeated
// one with "The variable name has already been declared".
func TestStatementsGetTheirParameters(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	s := shipment.Shipment{ID: "s-1", Recipient: "R", Destination: "D", WeightGrams: 1, Service: shipment.Standard,
		Status: shipment.Registered, Version: 2, CreatedAt: now, UpdatedAt: now}
	op := operation.Operation{ID: "op-1", Kind: "shipment.upsert", ShipmentID: "s-1", Status: operation.Failed,
		Error: &operation.Error{Code: operation.CodeNotFound, Message: "m"}, CreatedAt: now, LastUpdatedAt: now}
	withShipment := store.Record{Operation: op, Shipment: &s, Change: shipment.Replaced}
	change := store.Change{Position: 7, Operation: op, Shipment: &s, Change: shipment.Replaced, CommittedAt: now}
	key := &store.IdempotencyKey{KeyDigest: "k", RequestDigest: "r", OperationID: op.ID}
	withKey := withShipment
	withKey.IdempotencyKey = key
	applyArgs := []any{sql.Named("changes", str("[]")), sql.Named("head", int64(9)), sql.Named("applied_at", now)}
	_ = change
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"record with a shipment", recordSQL, recordArgs(withShipment, now)},
		{"record without one", recordSQL, recordArgs(store.Record{Operation: op}, now)},
		{"record with an idempotency key", recordSQL, recordArgs(withKey, now)},
		{"apply a batch", applySQL, applyArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			supplied := map[string]bool{}
			for _, a := range tt.args {
				nv, ok := a.(sql.NamedArg)
				if !ok {
					t.Fatalf("argument %v is not named", a)
				}
				if supplied["@"+nv.Name] {
					t.Errorf("parameter @%s given twice", nv.Name)
				}
				supplied["@"+nv.Name] = true
			}
			refs := referencedParams(tt.query)
			if len(refs) == 0 {
				t.Fatal("the statement names no parameter; the test reads it wrong")
			}
			for p := range refs {
				if !supplied[p] {
					t.Errorf("the statement uses %s, which is not supplied", p)
				}
			}
			for p := range supplied {
				if !refs[p] {
					t.Errorf("%s is supplied but the statement does not use it", p)
				}
			}
			for _, a := range tt.args {
				if v := a.(sql.NamedArg).Value; !fixedType(v) {
					t.Errorf("parameter @%s is a %T, declared by its length; pass it with str or a typed NULL", a.(sql.NamedArg).Name, v)
				}
			}
		})
	}
}

// fixedType reports whether the driver declares v the same whatever its
// value: anything but a plain string or a byte slice (sized by length), or an
// untyped nil (NVARCHAR(1)).
func fixedType(v any) bool {
	switch v.(type) {
	case string, []byte, nil:
		return false
	}
	return true
}

func TestReferencedParams(t *testing.T) {
	got := referencedParams("DECLARE @bound BINARY(8) = X(); SELECT @@ROWCOUNT, @a, @b_c FROM t WHERE x < @bound AND y = @a;")
	if len(got) != 2 || !got["@a"] || !got["@b_c"] {
		t.Errorf("referencedParams = %v, want @a and @b_c", got)
	}
}
