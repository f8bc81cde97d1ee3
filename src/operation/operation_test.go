package operation

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

func TestNewIDCarriesItsTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	kind, at := ParseID(id)
	if kind != IDTimed || at.Before(before) || at.After(time.Now()) {
		t.Errorf("ParseID(%s) = %v, %v; want a timed id made after %v", id, kind, at, before)
	}
}

func TestKeyedID(t *testing.T) {
	a, b := KeyedID("k", "r1"), KeyedID("k", "r1")
	if a != b {
		t.Errorf("same key and request: %s and %s, want one id", a, b)
	}
	if c := KeyedID("k", "r2"); c == a {
		t.Errorf("same key, different request: both %s", a)
	}
	if kind, _ := ParseID(a); kind != IDKeyed {
		t.Errorf("ParseID(%s) = %v, want IDKeyed", a, kind)
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, id := range []string{"", "garbage", "6ba7b810-9dad-11d1-80b4-00c04fd430c8" /* v1 */, "0e5d2f0a-4d0b-4c4b-9f3c-2f7d8a1b6c5e", /* v4 */
		"01A2203F-824C-776E-8E5C-708E9ECD5AA1" /* upper case */, "{01a2203f-824c-776e-8e5c-708e9ecd5aa1}", "01a2203f824c776e8e5c708e9ecd5aa1"} {
		if kind, _ := ParseID(id); kind != IDInvalid {
			t.Errorf("ParseID(%q) = %v, want IDInvalid", id, kind)
		}
	}
}

func TestErrorFor(t *testing.T) {
	for err, want := range map[error]ErrorCode{
		shipment.ErrNotFound: CodeNotFound,
		fmt.Errorf("x: %w", shipment.ErrInvalidTransition):  CodeInvalidTransition,
		fmt.Errorf("x: %w", shipment.ErrPreconditionFailed): CodePreconditionFailed,
	} {
		if got, ok := ErrorFor(err); !ok || got.Code != want || got.Message == "" {
			t.Errorf("ErrorFor(%v) = %+v, %v; want %s", err, got, ok, want)
		}
	}
	if _, ok := ErrorFor(errors.New("database is down")); ok {
		t.Error("an infrastructure error was taken for a business failure")
	}
}
