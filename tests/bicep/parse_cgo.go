//go:build cgo

package bicep

import (
	"errors"

	grammar "github.com/tree-sitter-grammars/tree-sitter-bicep/bindings/go"
	sitter "github.com/tree-sitter/go-tree-sitter"
)

// haveCgo is true here: this build links the C grammar.
const haveCgo = true

// parse builds the File view of src. Syntax errors are not an error here;
// they are collected in File.errors for Parse to report.
func parse(path string, src []byte) (*File, error) {
	p := sitter.NewParser()
	defer p.Close()
	if err := p.SetLanguage(sitter.NewLanguage(grammar.Language())); err != nil {
		return nil, err
	}
	tree := p.Parse(src, nil)
	if tree == nil {
		return nil, errors.New("tree-sitter returned no tree")
	}
	defer tree.Close() // every Node dies with the tree: build only Go values from it
	root := tree.RootNode()

	b := &builder{src: src, f: &File{Path: path}}
	b.statements(root)
	b.scan(root, false)
	return b.f, nil
}

// builder turns one tree into a File. parent is the symbol of the resource
// whose body is being read, so nested resources can name it.
type builder struct {
	src    []byte
	f      *File
	parent string
}

// statements reads the top level. In this grammar a declaration's decorators
// are not its children: they are a sibling "decorators" statement just before
// it, so they are held until the next declaration claims them.
func (b *builder) statements(root *sitter.Node) {
	var pending Decorators
	for _, n := range named(root) {
		switch n.Kind() {
		case "decorators":
			pending = append(pending, b.decorators(n)...)
			continue
		case "target_scope_assignment":
			b.f.TargetScope = b.literal(at(named(n), 0))
		case "import_functionality", "import_statement", "import_with_statement":
			b.f.Imports = append(b.f.Imports, b.imports(n))
		default:
			b.declaration(n, pending)
		}
		pending = nil
	}
}

// declaration reads one declaration statement; kinds the view does not model
// (metadata, using, test, assert) are passed over.
func (b *builder) declaration(n *sitter.Node, ds Decorators) {
	// Children are fetched with at, not indexed: after error recovery a
	// declaration can lack some, and a half-read File beats a panic.
	kids, pos := named(n), b.pos(n)
	name := b.text(at(kids, 0))
	switch n.Kind() {
	case "parameter_declaration":
		p := &Param{Name: name, Type: b.text(at(kids, 1)), Decorators: ds, Pos: pos}
		p.Default = b.value(at(kids, 2)) // nil without "= default"
		b.f.Params = append(b.f.Params, p)
	case "variable_declaration":
		b.f.Vars = append(b.f.Vars, &Var{Name: name, Value: b.value(at(kids, 1)), Decorators: ds, Pos: pos})
	case "type_declaration":
		b.f.Types = append(b.f.Types, &TypeDecl{Name: name, Text: b.text(at(kids, 1)), Decorators: ds, Pos: pos})
	case "user_defined_function":
		b.f.Funcs = append(b.f.Funcs, &Func{
			Name: name, Params: b.text(at(kids, 1)), Returns: b.text(n.ChildByFieldName("returns")),
			Body: b.value(at(kids, 3)), Decorators: ds, Pos: pos,
		})
	case "output_declaration":
		o := &Output{Name: name, Type: b.text(at(kids, 1)), Value: b.value(at(kids, 2)), Decorators: ds, Pos: pos}
		b.f.Outputs = append(b.f.Outputs, o)
	case "resource_declaration":
		b.resource(n, ds)
	case "module_declaration":
		m := &Module{Symbol: name, Path: b.literal(at(kids, 1)), Decorators: ds, Pos: pos}
		m.Body, m.Condition, m.Loop = b.body(at(kids, 2))
		b.f.Modules = append(b.f.Modules, m)
	}
}

// resource reads a resource declaration, at the top level or nested in
// another's body. It is listed before its body is read, so a parent always
// comes before its children.
func (b *builder) resource(n *sitter.Node, ds Decorators) {
	kids := named(n)
	r := &Resource{Symbol: b.text(at(kids, 0)), Parent: b.parent, Decorators: ds, Pos: b.pos(n)}
	r.Type, r.APIVersion = splitType(b.literal(at(kids, 1)))
	// "existing" is an anonymous keyword token, visible only among all
	// children, not the named ones.
	for i := range n.ChildCount() {
		if c := n.Child(i); !c.IsNamed() && c.Kind() == "existing" {
			r.Existing = true
		}
	}
	b.f.Resources = append(b.f.Resources, r)

	outer := b.parent
	b.parent = r.Symbol
	r.Body, r.Condition, r.Loop = b.body(at(kids, 2))
	b.parent = outer
}

// body unwraps what follows the = of a resource or module: an object, an
// if (cond) { ... }, or a [for ... in ...: ...] whose body may itself be an
// if (a filtered loop).
func (b *builder) body(n *sitter.Node) (body *Object, cond *Expr, loop *Loop) {
	switch kind(n) {
	case "object":
		return b.object(n), nil, nil
	case "if_statement":
		// if_statement holds a parenthesized_expression, then the object;
		// the condition is what is inside the parentheses.
		kids := named(n)
		if paren := at(kids, 0); paren != nil {
			cond = b.expr(at(named(paren), 0))
		}
		return b.object(at(kids, 1)), cond, nil
	case "for_statement":
		loop = b.loop(n)
		if inner := n.ChildByFieldName("body"); kind(inner) != "for_statement" {
			body, cond, _ = b.body(inner)
		}
		return body, cond, loop
	}
	return nil, nil, nil
}

// loop reads the head of a for_statement: [for x in xs: ...] names x in the
// "initializer" field, [for (x, i) in xs: ...] has a for_loop_parameters
// child; the range is the expression after the anonymous "in" token.
func (b *builder) loop(n *sitter.Node) *Loop {
	l := &Loop{}
	if init := n.ChildByFieldName("initializer"); init != nil {
		l.Item = b.text(init)
	}
	afterIn := false
	for i := range n.ChildCount() {
		c := n.Child(i)
		switch {
		case c.Kind() == "for_loop_parameters":
			ps := named(c)
			l.Item, l.Index = b.text(at(ps, 0)), b.text(at(ps, 1))
		case !c.IsNamed() && c.Kind() == "in":
			afterIn = true
		case afterIn && c.IsNamed() && !c.IsExtra():
			l.Range = b.value(c)
			return l
		}
	}
	return l
}

// imports reads the three import forms. In import {a, b as c} an identifier
// right after the "as" token is a local alias, not an exported name.
func (b *builder) imports(n *sitter.Node) *Import {
	im := &Import{Pos: b.pos(n)}
	afterAs := false
	for i := range n.ChildCount() {
		c := n.Child(i)
		switch {
		case c.IsNamed() && c.Kind() == "string":
			im.Path = b.literal(c)
		case c.Kind() == "*" || (c.Kind() == "identifier" && !afterAs):
			im.Names = append(im.Names, b.text(c))
		}
		afterAs = !c.IsNamed() && c.Kind() == "as"
	}
	if n.Kind() != "import_functionality" {
		im.Names = nil // import 'az@1.0.0' as az: the identifier is an alias
	}
	return im
}

// decorators reads a decorators node: each decorator wraps a call_expression.
func (b *builder) decorators(n *sitter.Node) Decorators {
	var ds Decorators
	for _, d := range named(n) {
		if name, args, ok := b.expr(at(named(d), 0)).Call(); ok {
			ds = append(ds, Decorator{Name: name, Args: args})
		}
	}
	return ds
}

// named lists n's named children less the extras: comments, and ERROR
// nodes the parser stepped around. Errors are reported by scan instead.
func named(n *sitter.Node) []*sitter.Node {
	var kids []*sitter.Node
	for i := range n.NamedChildCount() {
		if c := n.NamedChild(i); !c.IsExtra() {
			kids = append(kids, c)
		}
	}
	return kids
}

// at returns kids[i], or nil when there are not that many.
func at(kids []*sitter.Node, i int) *sitter.Node {
	if i < len(kids) {
		return kids[i]
	}
	return nil
}

// kind is n's kind, or "" for nil.
func kind(n *sitter.Node) string {
	if n == nil {
		return ""
	}
	return n.Kind()
}

// literal is a string node's decoded value, or its source text when it is
// interpolated (or not a string at all).
func (b *builder) literal(n *sitter.Node) string {
	if s, ok := b.value(n).(String); ok {
		return string(s)
	}
	return b.text(n)
}

func (b *builder) text(n *sitter.Node) string {
	if n == nil {
		return ""
	}
	return n.Utf8Text(b.src)
}

func (b *builder) pos(n *sitter.Node) Pos {
	p := n.StartPosition()
	return Pos{Path: b.f.Path, Line: int(p.Row) + 1, Column: int(p.Column) + 1}
}
