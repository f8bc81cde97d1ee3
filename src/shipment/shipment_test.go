package shipment

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "A-z_09", strings.Repeat("x", 64)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "ä", "a.b", "a\x00"} {
		var v *ValidationError
		if err := ValidateID(id); !errors.As(err, &v) || v.Fields[0].Field != "id" {
			t.Errorf("ValidateID(%q) = %v, want a ValidationError naming id", id, err)
		}
	}
}

func TestFieldsValidate(t *testing.T) {
	ok := fields("")
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid fields: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Fields)
		field string
	}{
		{"empty recipient", func(f *Fields) { f.Recipient = "" }, "recipient"},
		{"long recipient", func(f *Fields) { f.Recipient = strings.Repeat("é", 201) }, "recipient"},
		{"long destination", func(f *Fields) { f.Destination = strings.Repeat("d", 501) }, "destination"},
		{"invalid UTF-8", func(f *Fields) { f.Destination = "\xff" }, "destination"},
		{"blank recipient", func(f *Fields) { f.Recipient = " \t " }, "recipient"},
		{"line break", func(f *Fields) { f.Recipient = "Ada\nLovelace" }, "recipient"},
		{"NUL", func(f *Fields) { f.Destination = "1 Main St\x00" }, "destination"},
		{"C1 control", func(f *Fields) { f.Destination = "1 Main St\u0085" }, "destination"},
		{"lone surrogate, as JSON decodes it", func(f *Fields) { f.Recipient = "Ada \ufffd" }, "recipient"},
		{"zero weight", func(f *Fields) { f.WeightGrams = 0 }, "weightGrams"},
		{"heavy", func(f *Fields) { f.WeightGrams = 1_000_001 }, "weightGrams"},
		{"unknown service", func(f *Fields) { f.Service = "overnight" }, "service"},
		{"unknown status", func(f *Fields) { f.Status = "lost" }, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ok
			tt.edit(&f)
			var v *ValidationError
			if err := f.Validate(); !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tt.field {
				t.Errorf("Validate() = %v, want one error naming %s", err, tt.field)
			}
		})
	}
	// Limits count characters, not bytes.
	f := ok
	f.Recipient = strings.Repeat("é", 200)
	if err := f.Validate(); err != nil {
		t.Errorf("200 two-byte characters: %v, want nil", err)
	}
}

func TestPatchValidate(t *testing.T) {
	if err := (Patch{}).Validate(); err == nil {
		t.Error("an empty patch is valid, want an error")
	}
	if err := (Patch{Status: ptr(Status("lost"))}).Validate(); err == nil {
		t.Error("a patch to an unknown status is valid, want an error")
	}
	if err := (Patch{Recipient: ptr("")}).Validate(); err == nil {
		t.Error("a patch emptying the recipient is valid, want an error")
	}
	if err := (Patch{Service: ptr(Express)}).Validate(); err != nil {
		t.Errorf("a valid patch: %v", err)
	}
}
