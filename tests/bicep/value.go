package bicep

import (
	"strconv"
	"strings"
)

// Value is a Bicep expression as a test sees it. The concrete types are
// String, *Interp, Bool, Number, Null, *Object, *Array and *Expr; switch on
// them, or compare a scalar directly: v == bicep.String("x") is true exactly
// when v is that literal string.
type Value interface {
	bicepValue()
}

// String is a string literal with no interpolation: its content with the
// quotes removed and escapes (\' \\ \n \r \t \$ \u{...}) decoded. A multi-line
// string, between triple quotes, is taken verbatim (it has no escapes or
// interpolation), less the newline that may follow its opening quotes, as
// Bicep does.
type String string

// Interp is a string literal with at least one ${...} in it.
type Interp struct {
	// Parts alternate literal text and interpolated expressions, always
	// starting and ending with a String (possibly empty): '${a}-b' is
	// ["", a, "-b"]. Even indices are String, odd ones *Expr.
	Parts []Value
	// Raw is the source between the quotes, escapes not decoded.
	Raw string
}

// Bool is true or false.
type Bool bool

// Number is an integer literal (Bicep has no other kind). One too large for
// int64 is left as an *Expr of kind "number".
type Number int64

// Null is the null literal.
type Null struct{}

// Object is an object literal. Properties keep source order; a nested
// resource declaration inside a resource body is not a property (it is listed
// in File.Resources, with Parent set).
type Object struct {
	Properties []Property
}

// Property is one key: value pair. Key is unquoted whether it was written
// name:, 'azd-service-name': or name?: (the ? of an optional type property is
// dropped); an interpolated key such as '${identity.id}': is its Raw source
// "${identity.id}"; a wildcard type property is "*".
type Property struct {
	Key   string
	Value Value
}

// Array is an array literal.
type Array struct {
	Items []Value
}

// Expr is any expression that is not a literal: an identifier, member
// access, call, operator, ternary, lambda, for-expression or parenthesized
// expression, or a type written where a value could be (the property types of
// a type declaration's object).
type Expr struct {
	Kind string // the tree-sitter node kind, such as "call_expression" or "binary_expression"
	Text string // the exact source text
	Pos  Pos

	// Filled in when the parser builds the Expr, because the tree it came
	// from is freed as soon as parsing ends.
	call    *call
	ref     *ref
	ternary *ternary
}

type call struct {
	name string
	args []Value
}

type ref struct {
	root string
	path []string
}

type ternary struct {
	cond, then, els Value
}

func (String) bicepValue()  {}
func (*Interp) bicepValue() {}
func (Bool) bicepValue()    {}
func (Number) bicepValue()  {}
func (Null) bicepValue()    {}
func (*Object) bicepValue() {}
func (*Array) bicepValue()  {}
func (*Expr) bicepValue()   {}

// Call reports the function name and arguments of a call expression. The name
// is the function's own name, after any namespace or receiver: for
// sys.guid(a) and stg.listKeys() it is "guid" and "listKeys"; Text has the
// rest.
func (e *Expr) Call() (name string, args []Value, ok bool) {
	if e == nil || e.call == nil {
		return "", nil, false
	}
	return e.call.name, e.call.args, true
}

// Ref reports a plain identifier (root "a", no path) or a chain of property
// accesses on one (a.b.c: root "a", path ["b", "c"]). Safe access (a.?b) and
// non-null assertions (a!.b) count; anything with a call, index or :: in it
// does not.
func (e *Expr) Ref() (root string, path []string, ok bool) {
	if e == nil || e.ref == nil {
		return "", nil, false
	}
	return e.ref.root, e.ref.path, true
}

// Ternary reports the three parts of cond ? then : else.
func (e *Expr) Ternary() (cond, then, els Value, ok bool) {
	if e == nil || e.ternary == nil {
		return nil, nil, nil, false
	}
	return e.ternary.cond, e.ternary.then, e.ternary.els, true
}

// Keys lists the property keys in source order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	keys := make([]string, len(o.Properties))
	for i, p := range o.Properties {
		keys[i] = p.Key
	}
	return keys
}

// Get follows a dotted path of keys, such as "properties.requiresSession".
// A segment that is a number indexes an array ("containers.0.env"). A key
// that itself holds a dot cannot be reached this way; walk Properties.
// Get on a nil *Object finds nothing, so r.Body.Get works for any resource.
func (o *Object) Get(path string) (Value, bool) {
	if o == nil {
		return nil, false
	}
	var v Value = o
	for seg := range strings.SplitSeq(path, ".") {
		next, ok := step(v, seg)
		if !ok {
			return nil, false
		}
		v = next
	}
	return v, true
}

// step goes one segment down from v: a key of an object or an index of an
// array. The first property with the key wins, as Bicep rejects duplicates.
func step(v Value, seg string) (Value, bool) {
	switch v := v.(type) {
	case *Object:
		for _, p := range v.Properties {
			if p.Key == seg {
				return p.Value, true
			}
		}
	case *Array:
		i, err := strconv.Atoi(seg)
		if err == nil && i >= 0 && i < len(v.Items) {
			return v.Items[i], true
		}
	}
	return nil, false
}
