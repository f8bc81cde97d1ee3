package bicep

import (
	"testing"
)

// These tests need no parser, so they run with and without cgo.

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`it\'s`, "it's"},
		{`a\\b`, `a\b`},
		{`\$notInterpolated`, "$notInterpolated"},
		{`\n\r\t`, "\n\r\t"},
		{`\u{41}\u{1F600}`, "A\U0001F600"},
		{`\u{zz}`, `\u{zz}`},       // not hex: kept as written
		{`\q`, `\q`},               // not a Bicep escape: kept as written
		{`trailing\`, `trailing\`}, // cannot happen in a parsed string, must not panic
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMultiline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"\nhello", "hello"},
		{"\r\nhello\r\n", "hello\r\n"},
		{"\n\nhello\n", "\nhello\n"}, // only the first newline goes
	}
	for _, tt := range tests {
		if got := multiline(tt.in); got != tt.want {
			t.Errorf("multiline(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitType(t *testing.T) {
	tests := []struct{ in, wantType, wantVersion string }{
		{"Microsoft.Web/sites@2023-01-01", "Microsoft.Web/sites", "2023-01-01"},
		{"Microsoft.App/containerApps@2024-10-02-preview", "Microsoft.App/containerApps", "2024-10-02-preview"},
		{"queues", "queues", ""},
	}
	for _, tt := range tests {
		if typ, v := splitType(tt.in); typ != tt.wantType || v != tt.wantVersion {
			t.Errorf("splitType(%q): got %q, %q; want %q, %q", tt.in, typ, v, tt.wantType, tt.wantVersion)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  = (\nvar c", "= ("},
		{"0123456789012345678901234567890123456789", "0123456789012345678901234567890123456789"},
		{"0123456789012345678901234567890123456789x", "0123456789012345678901234567890123456789…"},
		{"012345678901234567890123456789012345678é", "012345678901234567890123456789012345678…"}, // no split rune
	}
	for _, tt := range tests {
		if got := snippet(tt.in); got != tt.want {
			t.Errorf("snippet(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestObjectGet(t *testing.T) {
	o := &Object{Properties: []Property{
		{Key: "a", Value: &Object{Properties: []Property{{Key: "b-c", Value: String("x")}}}},
		{Key: "list", Value: &Array{Items: []Value{Number(1), &Object{Properties: []Property{{Key: "k", Value: Bool(true)}}}}}},
		{Key: "dup", Value: Number(1)},
		{Key: "dup", Value: Number(2)},
	}}
	tests := []struct {
		path   string
		want   Value
		wantOK bool
	}{
		{"a.b-c", String("x"), true},
		{"list.0", Number(1), true},
		{"list.1.k", Bool(true), true},
		{"list.2", nil, false},
		{"list.-1", nil, false},
		{"list.k", nil, false},
		{"dup", Number(1), true}, // the first wins
		{"a.missing", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, ok := o.Get(tt.path)
		if ok != tt.wantOK || (tt.wantOK && got != tt.want) {
			t.Errorf("Get(%q): got %#v, %v; want %#v, %v", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, want := len(o.Keys()), 4; got != want {
		t.Errorf("Keys(): got %d keys, want %d", got, want)
	}
	var none *Object
	if v, ok := none.Get("a"); v != nil || ok || none.Keys() != nil {
		t.Errorf("nil *Object: got %v, %v, %v; want nothing", v, ok, none.Keys())
	}
	if _, ok := (&Resource{}).Get("a"); ok {
		t.Errorf("Get on a resource without a body: got ok, want not")
	}
	if got := (&Module{}).Param("a"); got != nil {
		t.Errorf("Param on a module without a body: got %#v, want nil", got)
	}
}

func TestExprHelpersOnOtherKinds(t *testing.T) {
	var nilExpr *Expr
	e := &Expr{Kind: "binary_expression", Text: "a + b"}
	for _, x := range []*Expr{nilExpr, e} {
		if _, _, ok := x.Call(); ok {
			t.Errorf("Call() on %v: got ok, want not", x)
		}
		if _, _, ok := x.Ref(); ok {
			t.Errorf("Ref() on %v: got ok, want not", x)
		}
		if _, _, _, ok := x.Ternary(); ok {
			t.Errorf("Ternary() on %v: got ok, want not", x)
		}
	}
}

func TestPosAndParseErrorText(t *testing.T) {
	tests := []struct{ got, want string }{
		{Pos{Path: "bicep/main.bicep", Line: 3, Column: 7}.String(), "bicep/main.bicep:3:7"},
		{Pos{Line: 3, Column: 7}.String(), "3:7"},
		{ParseError{Pos: Pos{"m.bicep", 1, 2}, Snippet: "...x"}.Error(), `m.bicep:1:2: syntax error at "...x"`},
		{ParseError{Pos: Pos{"m.bicep", 1, 2}, Missing: "}"}.Error(), "m.bicep:1:2: syntax error: missing }"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
