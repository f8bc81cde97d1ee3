package bicep

import (
	"fmt"
	"strings"
)

// File is one parsed .bicep file. The slices hold declarations in source
// order; nothing is resolved across files.
type File struct {
	Path        string
	TargetScope string // "" when the file has no targetScope statement
	Imports     []*Import
	Params      []*Param
	Vars        []*Var
	Types       []*TypeDecl
	Funcs       []*Func
	Resources   []*Resource // top-level and nested, parents before children
	Modules     []*Module
	Outputs     []*Output

	calls   []*Expr
	strings []StringAt
	errors  []ParseError
}

// Pos is a place in a file. Line and Column count from 1; Column counts
// bytes, as tree-sitter does.
type Pos struct {
	Path         string
	Line, Column int
}

// String formats p as path:line:col, the form editors and go test link.
func (p Pos) String() string {
	if p.Path == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Column)
	}
	return fmt.Sprintf("%s:%d:%d", p.Path, p.Line, p.Column)
}

// Decorator is one @name(args) line above a declaration. Name is the
// function's own name: @sys.description('x') is "description".
type Decorator struct {
	Name string
	Args []Value
}

// Decorators are the decorators of one declaration, in source order.
type Decorators []Decorator

// Find returns the first decorator named name.
func (ds Decorators) Find(name string) (Decorator, bool) {
	for _, d := range ds {
		if d.Name == name {
			return d, true
		}
	}
	return Decorator{}, false
}

// Import is an import of symbols (import {a, b as c} from './x.bicep',
// import * as ns from './x.bicep') or of a provider (import 'az@1.0.0').
type Import struct {
	Path  string   // the quoted path or provider, unquoted
	Names []string // exported names as written before any "as"; ["*"] for a wildcard; nil for a provider
	Pos   Pos
}

// Param is a param declaration. Type is its source text ("string",
// "'a' | 'b'", "string[]", "object?"); Default is nil when there is none.
type Param struct {
	Name       string
	Type       string
	Default    Value
	Decorators Decorators
	Pos        Pos
}

// Var is a var declaration.
type Var struct {
	Name       string
	Value      Value
	Decorators Decorators
	Pos        Pos
}

// TypeDecl is a user-defined type; Text is the source after the =.
type TypeDecl struct {
	Name       string
	Text       string
	Decorators Decorators
	Pos        Pos
}

// Func is a user-defined function. Params and Returns are source text
// ("(a string, b int)", "string").
type Func struct {
	Name       string
	Params     string
	Returns    string
	Body       Value
	Decorators Decorators
	Pos        Pos
}

// Output is an output declaration.
type Output struct {
	Name       string
	Type       string
	Value      Value
	Decorators Decorators
	Pos        Pos
}

// Loop is the [for ... in Range: ...] around a resource or module body.
type Loop struct {
	Item  string // the loop variable
	Index string // the index variable of [for (item, i) in ...]; "" when absent
	Range Value  // the expression after "in"
}

// Resource is a resource declaration. Type and APIVersion are the two halves
// of 'Microsoft.ServiceBus/namespaces/queues@2024-01-01'; a nested resource
// may name only its child type ('queues') and no version.
type Resource struct {
	Symbol     string
	Type       string
	APIVersion string
	Existing   bool       // declared with the existing keyword
	Parent     string     // the enclosing resource's symbol when declared inside its body
	Condition  *Expr      // the expression in = if (...) or a loop's if; nil when unconditional
	Loop       *Loop      // nil unless declared with [for ...]
	Body       *Object    // the object literal (inside any if or for); nil if it is not one
	Decorators Decorators // such as @batchSize(1) or @description('...')
	Pos        Pos
}

// Get looks a dotted path up in the body: r.Get("properties.requiresSession").
func (r *Resource) Get(path string) (Value, bool) { return r.Body.Get(path) }

// Module is a module declaration; Path is the module's source ('./app.bicep',
// 'br/public:...').
type Module struct {
	Symbol     string
	Path       string
	Condition  *Expr
	Loop       *Loop
	Body       *Object
	Decorators Decorators
	Pos        Pos
}

// Get looks a dotted path up in the body: m.Get("params.location").
func (m *Module) Get(path string) (Value, bool) { return m.Body.Get(path) }

// Param returns the value passed for the module parameter name, or nil.
func (m *Module) Param(name string) Value {
	v, _ := m.Body.Get("params." + name)
	return v
}

// StringAt is one string literal anywhere in a file: in a value, a key, a
// decorator, a resource type, an import path or inside an interpolation.
type StringAt struct {
	Pos          Pos
	Text         string // the decoded content, or for an interpolated string its Raw source
	Interpolated bool
}

// ParseError is a syntax error: a stretch the grammar could not parse, or a
// token it had to assume was there.
type ParseError struct {
	Pos     Pos
	Missing string // the kind of the missing token or node; "" for a stretch that did not parse
	Snippet string // the start of the source that did not parse, at most one line
}

func (e ParseError) Error() string {
	if e.Missing != "" {
		return fmt.Sprintf("%s: syntax error: missing %s", e.Pos, e.Missing)
	}
	return fmt.Sprintf("%s: syntax error at %q", e.Pos, e.Snippet)
}

// Errors lists every syntax error in the file, in source order.
func (f *File) Errors() []ParseError { return f.errors }

// Strings lists every string literal in the file, in source order.
func (f *File) Strings() []StringAt { return f.strings }

// Calls lists every call of a function named name anywhere in the file, in
// source order, matching the name as (*Expr).Call reports it: Calls("listKeys")
// finds both listKeys(stg.id, '2023-01-01') and stg.listKeys().
func (f *File) Calls(name string) []*Expr {
	var found []*Expr
	for _, c := range f.calls {
		if c.call.name == name {
			found = append(found, c)
		}
	}
	return found
}

// Param returns the parameter named name, or nil.
func (f *File) Param(name string) *Param {
	return find(f.Params, func(p *Param) bool { return p.Name == name })
}

// Var returns the variable named name, or nil.
func (f *File) Var(name string) *Var {
	return find(f.Vars, func(v *Var) bool { return v.Name == name })
}

// Output returns the output named name, or nil.
func (f *File) Output(name string) *Output {
	return find(f.Outputs, func(o *Output) bool { return o.Name == name })
}

// Resource returns the resource with symbolic name symbol, or nil.
func (f *File) Resource(symbol string) *Resource {
	return find(f.Resources, func(r *Resource) bool { return r.Symbol == symbol })
}

// Module returns the module with symbolic name symbol, or nil.
func (f *File) Module(symbol string) *Module {
	return find(f.Modules, func(m *Module) bool { return m.Symbol == symbol })
}

// ResourcesOfType lists the resources of a type, compared case-insensitively
// as Azure compares them: "Microsoft.ServiceBus/namespaces/queues".
func (f *File) ResourcesOfType(typ string) []*Resource {
	var found []*Resource
	for _, r := range f.Resources {
		if strings.EqualFold(r.Type, typ) {
			found = append(found, r)
		}
	}
	return found
}

func find[T any](xs []T, match func(T) bool) T {
	for _, x := range xs {
		if match(x) {
			return x
		}
	}
	var zero T
	return zero
}
