package shipment

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the fields, as the HTTP contract states them.
const (
	MaxIDLength          = 64
	MaxRecipientLength   = 200
	MaxDestinationLength = 500
	MinWeightGrams       = 1
	MaxWeightGrams       = 1_000_000
)

// Shipment is one parcel's current state. Version starts at 1 and grows by one
// with every applied change, including the cancel that deletes it.
type Shipment struct {
	ID          string
	Recipient   string
	Destination string
	WeightGrams int
	Service     Service
	Status      Status
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Deleted marks a cancelled shipment. The write side keeps it as a
	// tombstone so that its version keeps growing if the id is used again.
	Deleted bool
}

// Fields is the full, client-supplied content of a shipment (a PUT body).
// An empty Status means "not given": registered for a new shipment, unchanged
// for a replace.
type Fields struct {
	Recipient   string  `json:"recipient"`
	Destination string  `json:"destination"`
	WeightGrams int     `json:"weightGrams"`
	Service     Service `json:"service"`
	Status      Status  `json:"status,omitempty"`
}

// Patch is a JSON merge patch (RFC 7396) of the fields a PATCH may change; a
// nil field is left as it is. The weight is fixed at registration: a PUT
// replaces it.
type Patch struct {
	Recipient   *string  `json:"recipient,omitempty"`
	Destination *string  `json:"destination,omitempty"`
	Service     *Service `json:"service,omitempty"`
	Status      *Status  `json:"status,omitempty"`
}

// ValidateID checks a client-chosen shipment id: 1–64 characters of [A-Za-z0-9_-].
func ValidateID(id string) error {
	v := &ValidationError{}
	checkID(v, id)
	return v.err()
}

func checkID(v *ValidationError, id string) {
	if id == "" || len(id) > MaxIDLength {
		v.add("id", "must be 1 to %d characters long", MaxIDLength)
		return
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			v.add("id", "may contain only letters, digits, '_' and '-'")
			return
		}
	}
}

// Validate checks every field of a full shipment and reports all that are wrong.
func (f Fields) Validate() error {
	v := &ValidationError{}
	checkText(v, "recipient", f.Recipient, MaxRecipientLength)
	checkText(v, "destination", f.Destination, MaxDestinationLength)
	checkWeight(v, f.WeightGrams)
	checkService(v, f.Service)
	if f.Status != "" {
		checkStatus(v, f.Status)
	}
	return v.err()
}

// Validate checks the fields a patch sets and requires it to set at least one.
func (p Patch) Validate() error {
	v := &ValidationError{}
	if p.Recipient != nil {
		checkText(v, "recipient", *p.Recipient, MaxRecipientLength)
	}
	if p.Destination != nil {
		checkText(v, "destination", *p.Destination, MaxDestinationLength)
	}
	if p.Service != nil {
		checkService(v, *p.Service)
	}
	if p.Status != nil {
		checkStatus(v, *p.Status)
	}
	if p == (Patch{}) {
		v.add("body", "a patch must change at least one of recipient, destination, service, status")
	}
	return v.err()
}

// checkText requires s to be text a person can read back: valid UTF-8, not
// blank, no control characters (a line break or NUL would break every
// label and log line that shows it), and no U+FFFD, which is what a JSON
// decoder makes of a lone surrogate such as \ud800.
func checkText(v *ValidationError, field, s string, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case n == 0:
		v.add(field, "is required and must not be empty")
	case strings.TrimSpace(s) == "":
		v.add(field, "must not be blank")
	case strings.ContainsFunc(s, unicode.IsControl):
		v.add(field, "must not contain control characters, such as a line break, a tab or NUL")
	case strings.ContainsRune(s, utf8.RuneError):
		v.add(field, "must not contain U+FFFD: a lone surrogate (such as \\ud800), or text that was not valid Unicode")
	case n > max:
		v.add(field, "must be at most %d characters long", max)
	}
}

func checkWeight(v *ValidationError, g int) {
	if g < MinWeightGrams || g > MaxWeightGrams {
		v.add("weightGrams", "must be an integer from %d to %d", MinWeightGrams, MaxWeightGrams)
	}
}

func checkService(v *ValidationError, s Service) {
	if !s.Valid() {
		v.add("service", "must be one of: standard, express")
	}
}

func checkStatus(v *ValidationError, s Status) {
	if !s.Valid() {
		v.add("status", "must be one of: registered, picked_up, in_transit, out_for_delivery, delivered")
	}
}
