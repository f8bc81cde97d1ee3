//go:build cgo

package bicep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// valueOpts compares Values by what a test can see: an *Expr by its Kind and
// Text (its position and helper results are checked where they matter).
var valueOpts = cmp.Options{
	cmpopts.IgnoreUnexported(Expr{}),
	cmpopts.IgnoreFields(Expr{}, "Pos"),
}

// ex is a want-side *Expr.
func ex(kind, text string) *Expr { return &Expr{Kind: kind, Text: text} }

// parseOK parses src as main.bicep and fails the test on any syntax error.
func parseOK(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("main.bicep", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return f
}

// varValue parses `var x = <expr>` and returns the value of x.
func varValue(t *testing.T, expr string) Value {
	t.Helper()
	f := parseOK(t, "var x = "+expr)
	if len(f.Vars) != 1 {
		t.Fatalf("var x = %s: got %d vars, want 1", expr, len(f.Vars))
	}
	return f.Vars[0].Value
}

// asExpr fails the test unless v is an *Expr.
func asExpr(t *testing.T, v Value) *Expr {
	t.Helper()
	e, ok := v.(*Expr)
	if !ok {
		t.Fatalf("got %T (%#v), want *Expr", v, v)
	}
	return e
}
