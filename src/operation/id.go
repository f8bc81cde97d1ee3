package operation

import (
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
)

// NewID returns a fresh operation id: a UUIDv7, whose first 48 bits are the
// creation time in milliseconds. The query side uses that time to answer for
// an operation no worker has recorded yet (see IDTime).
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// KeyedID derives the operation id of a command sent with an Idempotency-Key.
// The same key with the same request always gives the same id, so a retry is
// the same operation (and the bus drops it as a duplicate). The same key with
// a different request gives a different id, and the worker fails that
// operation with IdempotencyKeyReused. The id is a UUIDv8 (RFC 9562, custom),
// so it cannot be mistaken for a time-carrying UUIDv7.
func KeyedID(keyDigest, requestDigest string) string {
	sum := sha256.Sum256([]byte("dropoff/operation\x00" + keyDigest + "\x00" + requestDigest))
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String()
}

// IDKind tells how an operation id was made.
type IDKind int

// The kinds of operation id.
const (
	IDInvalid IDKind = iota // not an id Dropoff issues
	IDTimed                 // a UUIDv7 from NewID
	IDKeyed                 // a UUIDv8 from KeyedID
)

// ParseID classifies id and, for a UUIDv7, returns its creation time. Only the
// canonical lower-case 36-character form is accepted, the form Dropoff issues.
func ParseID(id string) (IDKind, time.Time) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 || u.String() != id || u.Variant() != uuid.RFC4122 {
		return IDInvalid, time.Time{}
	}
	switch u.Version() {
	case 7:
		sec, nsec := u.Time().UnixTime()
		return IDTimed, time.Unix(sec, nsec).UTC()
	case 8:
		return IDKeyed, time.Time{}
	}
	return IDInvalid, time.Time{}
}
