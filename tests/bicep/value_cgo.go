//go:build cgo

package bicep

import (
	"strconv"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// value converts an expression node: literals to their Go types, anything
// else to an *Expr. A nil node (an absent child) is a nil Value.
func (b *builder) value(n *sitter.Node) Value {
	switch kind(n) {
	case "":
		return nil
	case "string":
		return b.str(n)
	case "number":
		if i, err := strconv.ParseInt(b.text(n), 10, 64); err == nil {
			return Number(i)
		}
	case "boolean":
		return Bool(b.text(n) == "true")
	case "null":
		return Null{}
	case "object":
		return b.object(n)
	case "array":
		return b.array(n)
	}
	return b.expr(n)
}

// expr wraps any node as an *Expr, recording the structure its helpers
// report: a call's name and arguments, a reference chain, a ternary's parts.
func (b *builder) expr(n *sitter.Node) *Expr {
	if n == nil {
		return nil
	}
	e := &Expr{Kind: n.Kind(), Text: b.text(n), Pos: b.pos(n)}
	switch e.Kind {
	case "call_expression":
		e.call = b.call(n)
	case "identifier", "member_expression":
		e.ref = b.ref(n)
	case "ternary_expression":
		e.ternary = &ternary{
			cond: b.value(n.ChildByFieldName("condition")),
			then: b.value(n.ChildByFieldName("consequence")),
			els:  b.value(n.ChildByFieldName("alternative")),
		}
	}
	return e
}

// call reads a call_expression. Its "function" field is an identifier
// (guid), or a member_expression for a namespaced function or a resource
// method (sys.guid, stg.listKeys), whose "property" is the name.
func (b *builder) call(n *sitter.Node) *call {
	fn := n.ChildByFieldName("function")
	c := &call{name: b.text(fn)}
	if kind(fn) == "member_expression" {
		c.name = b.text(fn.ChildByFieldName("property"))
	}
	if args := n.ChildByFieldName("arguments"); args != nil {
		for _, a := range named(args) {
			c.args = append(c.args, b.value(a))
		}
	}
	return c
}

// ref reads a.b.c: member_expression nests to the left, its "object" the
// chain so far and its "property" the last name. It is nil when the chain
// does not bottom out in an identifier.
func (b *builder) ref(n *sitter.Node) *ref {
	switch kind(n) {
	case "identifier":
		return &ref{root: b.text(n)}
	case "member_expression":
		r := b.ref(n.ChildByFieldName("object"))
		if r == nil {
			return nil
		}
		r.path = append(r.path, b.text(n.ChildByFieldName("property")))
		return r
	}
	return nil
}

// object reads an object literal. Each object_property holds a key node and
// a value node, or (in a resource body) a whole nested resource_declaration.
// A "decorators" child decorates what follows it, as at the top level: a
// nested resource keeps them, a property (in a type) has nowhere to.
func (b *builder) object(n *sitter.Node) *Object {
	if kind(n) != "object" {
		return nil
	}
	o := &Object{}
	var pending Decorators
	for _, p := range named(n) {
		if p.Kind() == "decorators" {
			pending = append(pending, b.decorators(p)...)
			continue
		}
		ds := pending
		pending = nil
		if p.Kind() != "object_property" {
			continue
		}
		kids := named(p)
		if kind(at(kids, 0)) == "resource_declaration" {
			b.resource(kids[0], ds)
			continue
		}
		// The wildcard key of a type, *: string, is an anonymous token, so
		// it is not among the named children.
		if first := p.Child(0); first != nil && !first.IsNamed() {
			o.Properties = append(o.Properties, Property{Key: b.text(first), Value: b.value(at(kids, 0))})
			continue
		}
		o.Properties = append(o.Properties, Property{Key: b.key(at(kids, 0)), Value: b.value(at(kids, 1))})
	}
	return o
}

// key reads a property key: name, 'quoted-name', '${interpolated}' or name?
// (an optional property of a type: a compatible_identifier wrapping the
// identifier).
func (b *builder) key(n *sitter.Node) string {
	switch kind(n) {
	case "compatible_identifier":
		return b.text(at(named(n), 0))
	case "string":
		if in, ok := b.str(n).(*Interp); ok {
			return in.Raw
		}
	}
	return b.literal(n)
}

// array reads an array literal, dropping any decorators on its items.
func (b *builder) array(n *sitter.Node) *Array {
	a := &Array{Items: []Value{}}
	for _, c := range named(n) {
		if c.Kind() != "decorators" {
			a.Items = append(a.Items, b.value(c))
		}
	}
	return a
}

// str reads a string node. The text between the quotes is decoded here
// rather than read off the children, because the grammar hides some of it:
// \$ is an anonymous token, and a lone $ is a string_content alias. Only the
// interpolation children are needed to split it.
func (b *builder) str(n *sitter.Node) Value {
	count := n.ChildCount()
	if count < 2 {
		return String("") // error recovery left no quotes
	}
	// max: a recovered string can end before its opening quote does.
	start, end := n.Child(0).EndByte(), max(n.Child(count-1).StartByte(), n.Child(0).EndByte())
	if n.Child(0).Kind() == "'''" {
		return String(multiline(string(b.src[start:end])))
	}
	var parts []Value
	from := start // where the literal text before the next interpolation begins
	for _, c := range named(n) {
		if c.Kind() != "interpolation" {
			continue
		}
		lit := String(unescape(string(b.src[from:c.StartByte()])))
		parts = append(parts, lit, b.expr(at(named(c), 0)))
		from = c.EndByte()
	}
	last := String(unescape(string(b.src[from:end])))
	if parts == nil {
		return last
	}
	return &Interp{Parts: append(parts, last), Raw: string(b.src[start:end])}
}

// scan walks the whole tree once for what tests look for anywhere: every
// call, every string literal, every syntax error. Error recovery can nest
// ERROR nodes; inError keeps that to one report for the outermost.
func (b *builder) scan(n *sitter.Node, inError bool) {
	switch {
	case n.IsError() && !inError:
		b.f.errors = append(b.f.errors, ParseError{Pos: b.pos(n), Snippet: snippet(b.text(n))})
	case n.IsMissing() && !inError:
		b.f.errors = append(b.f.errors, ParseError{Pos: b.pos(n), Missing: n.Kind()})
	case !n.IsNamed():
		// Keywords are anonymous nodes named for their text: the primitive
		// type string is one, and must not be taken for a string literal.
	case n.Kind() == "call_expression":
		b.f.calls = append(b.f.calls, b.expr(n))
	case n.Kind() == "string":
		s := StringAt{Pos: b.pos(n)}
		switch v := b.str(n).(type) {
		case String:
			s.Text = string(v)
		case *Interp:
			s.Text, s.Interpolated = v.Raw, true
		}
		b.f.strings = append(b.f.strings, s)
	}
	// Calls and strings inside an ERROR node are still reported: the file
	// fails its parse anyway, and the rest of the tree stays searchable.
	for i := range n.ChildCount() {
		b.scan(n.Child(i), inError || n.IsError())
	}
}
