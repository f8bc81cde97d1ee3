package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// The bodies of PUT and PATCH are decoded by hand, member by member, rather
// than with json.Unmarshal into the domain structs: Unmarshal would take null
// as "not given", report only the first type error, and say nothing useful
// about 1.5 grams. Decoding here checks only JSON types; every rule about
// values (lengths, ranges, enums) is the shipment package's Validate.

// decodeFields reads a PUT body: a full shipment.
func decodeFields(body []byte) (shipment.Fields, error) {
	members, err := decodeObject(body)
	if err != nil {
		return shipment.Fields{}, err
	}
	var f shipment.Fields
	e := &fieldErrors{}
	for _, m := range members {
		switch m.name {
		case "recipient":
			f.Recipient = e.str(m)
		case "destination":
			f.Destination = e.str(m)
		case "weightGrams":
			e.weight(m, &f.WeightGrams)
		case "service":
			f.Service = shipment.Service(e.str(m))
		case "status":
			// Fields treats "" as "not given"; given explicitly, it is wrong.
			if f.Status = shipment.Status(e.str(m)); f.Status == "" && !e.has(m.name) {
				e.add(m.name, "must not be empty; leave status out to keep it (or to register a new shipment)")
			}
		default:
			e.add(fieldName(m.name), "is not a field of a shipment (recipient, destination, weightGrams, service, status)")
		}
	}
	return f, e.with(f.Validate())
}

// decodePatch reads a PATCH body: a JSON merge patch (RFC 7396). In a merge
// patch null means "remove the member"; every field of a shipment is
// required, so null is refused.
func decodePatch(body []byte) (shipment.Patch, error) {
	members, err := decodeObject(body)
	if err != nil {
		return shipment.Patch{}, err
	}
	var p shipment.Patch
	e := &fieldErrors{}
	for _, m := range members {
		if isNull(m.value) && m.name != "weightGrams" {
			e.add(fieldName(m.name), "cannot be removed (null): every field of a shipment is required")
			continue
		}
		switch m.name {
		case "recipient":
			p.Recipient = ptr(e.str(m))
		case "destination":
			p.Destination = ptr(e.str(m))
		case "service":
			p.Service = ptr(shipment.Service(e.str(m)))
		case "status":
			p.Status = ptr(shipment.Status(e.str(m)))
		case "weightGrams":
			e.add(m.name, "cannot be patched: the weight is fixed at registration; PUT the whole shipment to change it")
		default:
			e.add(fieldName(m.name), "is not a field a patch may change (recipient, destination, service, status)")
		}
	}
	return p, e.with(p.Validate())
}

func ptr[T any](v T) *T { return &v }

// fieldErrors collects the problems with a body's members, at most
// maxFieldErrors of them so that a body of many bad members gets a short answer.
type fieldErrors struct {
	list []shipment.FieldError
}

const maxFieldErrors = 20

func (e *fieldErrors) add(field, message string) {
	if len(e.list) < maxFieldErrors {
		e.list = append(e.list, shipment.FieldError{Field: field, Message: message})
	}
}

// has reports whether field already has a problem.
func (e *fieldErrors) has(field string) bool {
	return slices.ContainsFunc(e.list, func(f shipment.FieldError) bool { return f.Field == field })
}

// with adds the problems the domain's Validate found, except for fields whose
// JSON type was already wrong (a number given for recipient would otherwise
// also be reported as "required"), and returns them all as one error.
func (e *fieldErrors) with(validateErr error) error {
	if ve, ok := validateErr.(*shipment.ValidationError); ok {
		for _, f := range ve.Fields {
			if !e.has(f.Field) {
				e.add(f.Field, f.Message)
			}
		}
	}
	if len(e.list) == 0 {
		return nil
	}
	return &shipment.ValidationError{Fields: e.list}
}

// str decodes a JSON string member, recording a problem (and returning
// "") when it is anything else.
func (e *fieldErrors) str(m member) string {
	var s string
	if !isString(m.value) || json.Unmarshal(m.value, &s) != nil {
		e.add(m.name, "must be a string, not "+rawKind(m.value))
		return ""
	}
	return s
}

// weight decodes weightGrams: a JSON number written as a plain integer. 1.5,
// 1e3 and numbers beyond 32 bits are refused here; the range is Validate's.
func (e *fieldErrors) weight(m member, dst *int) {
	raw := string(bytes.TrimSpace(m.value))
	n, err := strconv.ParseInt(raw, 10, 32)
	switch {
	case err == nil:
		*dst = int(n)
	case rawKind(m.value) != "a number":
		e.add(m.name, "must be a number, not "+rawKind(m.value))
	default:
		e.add(m.name, "must be a whole number of grams from "+strconv.Itoa(shipment.MinWeightGrams)+
			" to "+strconv.Itoa(shipment.MaxWeightGrams)+", without fraction or exponent")
	}
}

func isString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
