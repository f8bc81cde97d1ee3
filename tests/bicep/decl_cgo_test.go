//go:build cgo

package bicep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParams(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Param
	}{
		{"plain", "param env string", Param{Name: "env", Type: "string"}},
		{"default", "param env string = 'dev'", Param{Name: "env", Type: "string", Default: String("dev")}},
		{"secure", "@secure()\nparam pw string", Param{Name: "pw", Type: "string", Decorators: Decorators{{Name: "secure"}}}},
		{"min length and description", "@minLength(1)\n@description('The environment')\nparam env string",
			Param{Name: "env", Type: "string", Decorators: Decorators{
				{Name: "minLength", Args: []Value{Number(1)}},
				{Name: "description", Args: []Value{String("The environment")}},
			}}},
		{"allowed", "@allowed([\n  'dev'\n  'prod'\n])\nparam env string = 'dev'",
			Param{Name: "env", Type: "string", Default: String("dev"), Decorators: Decorators{
				{Name: "allowed", Args: []Value{&Array{Items: []Value{String("dev"), String("prod")}}}},
			}}},
		{"namespaced decorator", "@sys.description('d')\nparam p int", Param{Name: "p", Type: "int", Decorators: Decorators{{Name: "description", Args: []Value{String("d")}}}}},
		{"comment between decorator and param", "@secure() // why\n/* more */\nparam pw string", Param{Name: "pw", Type: "string", Decorators: Decorators{{Name: "secure"}}}},
		{"union type", "param tier 'Basic' | 'Standard' = 'Standard'", Param{Name: "tier", Type: "'Basic' | 'Standard'", Default: String("Standard")}},
		{"nullable type", "param tag string?", Param{Name: "tag", Type: "string?"}},
		{"array type and default", "param names string[] = []", Param{Name: "names", Type: "string[]", Default: &Array{Items: []Value{}}}},
		{"default expression", "param loc string = resourceGroup().location", Param{Name: "loc", Type: "string", Default: ex("member_expression", "resourceGroup().location")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseOK(t, tt.src)
			if len(f.Params) != 1 {
				t.Fatalf("got %d params, want 1", len(f.Params))
			}
			if diff := cmp.Diff(tt.want, *f.Params[0], valueOpts, cmpopts.IgnoreFields(Param{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("param (-want +got):\n%s", diff)
			}
		})
	}
}

// Decorators are siblings of the declaration in the tree; they must attach
// to the next declaration only, whatever its kind.
func TestDecoratorsAttachToTheNextDeclarationOnly(t *testing.T) {
	f := parseOK(t, `@description('a')
param a string
param b string
@description('v')
var v = 1
@description('o')
output o int = v
@batchSize(1)
resource r 'T@1' = { name: 'r' }
@description('m')
module m './m.bicep' = { name: 'm' }
`)
	got := map[string]Decorators{
		"a": f.Param("a").Decorators, "b": f.Param("b").Decorators, "v": f.Var("v").Decorators,
		"o": f.Output("o").Decorators, "r": f.Resource("r").Decorators, "m": f.Module("m").Decorators,
	}
	want := map[string]Decorators{
		"a": {{Name: "description", Args: []Value{String("a")}}},
		"b": nil,
		"v": {{Name: "description", Args: []Value{String("v")}}},
		"o": {{Name: "description", Args: []Value{String("o")}}},
		"r": {{Name: "batchSize", Args: []Value{Number(1)}}},
		"m": {{Name: "description", Args: []Value{String("m")}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decorators by declaration (-want +got):\n%s", diff)
	}
	if d, ok := f.Param("a").Decorators.Find("description"); !ok || d.Args[0] != String("a") {
		t.Errorf("Find(description) on a: got %v, %v; want the description decorator", d, ok)
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want Value
	}{
		{"string", "'abc'", String("abc")},
		{"empty string", "''", String("")},
		{"escapes decoded", `'it\'s \\ \$x \n\t\r \u{41}'`, String("it's \\ $x \n\t\r A")},
		{"lone dollar and hash", "'cost $5 #1'", String("cost $5 #1")},
		{"multi-line drops the first newline only", "'''\nline 'one'\n  ${not} \\n\n'''", String("line 'one'\n  ${not} \\n\n")},
		{"multi-line on one line", "'''hello'''", String("hello")},
		{"interpolation", "'${env}-b'", &Interp{Parts: []Value{String(""), ex("identifier", "env"), String("-b")}, Raw: "${env}-b"}},
		{"adjacent interpolations", `'a${x.y}${f(1)}\'z'`, &Interp{
			Parts: []Value{String("a"), ex("member_expression", "x.y"), String(""), ex("call_expression", "f(1)"), String("'z")},
			Raw:   `a${x.y}${f(1)}\'z`,
		}},
		{"number", "42", Number(42)},
		{"negative number", "-1", Number(-1)},
		{"number beyond int64", "99999999999999999999", ex("number", "99999999999999999999")},
		{"true", "true", Bool(true)},
		{"false", "false", Bool(false)},
		{"null", "null", Null{}},
		{"object with quoted key", "{ a: 'b', 'azd-service-name': 'api', c: [ 1, 2 ] }", &Object{Properties: []Property{
			{Key: "a", Value: String("b")},
			{Key: "azd-service-name", Value: String("api")},
			{Key: "c", Value: &Array{Items: []Value{Number(1), Number(2)}}},
		}}},
		{"interpolated key", "{ '${id.id}': {} }", &Object{Properties: []Property{{Key: "${id.id}", Value: &Object{}}}}},
		{"multi-line object with comments", "{\n  // first\n  a: { b: { c: true } } /* inline */\n  d: null\n}", &Object{Properties: []Property{
			{Key: "a", Value: &Object{Properties: []Property{{Key: "b", Value: &Object{Properties: []Property{{Key: "c", Value: Bool(true)}}}}}}},
			{Key: "d", Value: Null{}},
		}}},
		{"array of objects", "[\n  { n: 1 }\n  'two'\n]", &Array{Items: []Value{&Object{Properties: []Property{{Key: "n", Value: Number(1)}}}, String("two")}}},
		{"reference", "a.b.c", ex("member_expression", "a.b.c")},
		{"safe access and coalesce", "x.?a ?? 'z'", ex("binary_expression", "x.?a ?? 'z'")},
		{"not", "!flag", ex("unary_expression", "!flag")},
		{"ternary", "env == 'prod' ? 3 : 1", ex("ternary_expression", "env == 'prod' ? 3 : 1")},
		{"lambda in call", "map(xs, x => x.name)", ex("call_expression", "map(xs, x => x.name)")},
		{"for expression", "[for q in queues: q.name]", ex("for_statement", "[for q in queues: q.name]")},
		{"parenthesized", "(a)", ex("parenthesized_expression", "(a)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := varValue(t, tt.expr)
			if diff := cmp.Diff(tt.want, got, valueOpts); diff != "" {
				t.Errorf("var x = %s (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestExprCall(t *testing.T) {
	tests := []struct {
		expr     string
		wantName string
		wantArgs []Value
	}{
		{"guid(a, b, 'c')", "guid", []Value{ex("identifier", "a"), ex("identifier", "b"), String("c")}},
		{"subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc')", "subscriptionResourceId",
			[]Value{String("Microsoft.Authorization/roleDefinitions"), String("69a216fc")}},
		{"json('0.5')", "json", []Value{String("0.5")}},
		{"sys.guid(x)", "guid", []Value{ex("identifier", "x")}},
		{"stg.listKeys()", "listKeys", nil},
	}
	for _, tt := range tests {
		name, args, ok := asExpr(t, varValue(t, tt.expr)).Call()
		if !ok || name != tt.wantName {
			t.Errorf("%s: Call() got %q, %v; want %q, true", tt.expr, name, ok, tt.wantName)
		}
		if diff := cmp.Diff(tt.wantArgs, args, valueOpts); diff != "" {
			t.Errorf("%s: args (-want +got):\n%s", tt.expr, diff)
		}
	}
	// An interpolated part is an *Expr like any other.
	in := varValue(t, "'${guid(a)}'").(*Interp)
	if name, _, ok := asExpr(t, in.Parts[1]).Call(); !ok || name != "guid" {
		t.Errorf("Call() on an interpolated part: got %q, %v; want guid, true", name, ok)
	}
}

func TestExprRef(t *testing.T) {
	tests := []struct {
		expr     string
		wantRoot string
		wantPath []string
		wantOK   bool
	}{
		{"ns", "ns", nil, true},
		{"q.id", "q", []string{"id"}, true},
		{"a.b.c", "a", []string{"b", "c"}, true},
		{"x.?a", "x", []string{"a"}, true},
		{"a!.b", "a", []string{"b"}, true},
		{"f().id", "", nil, false},
		{"xs[0].id", "", nil, false},
		{"ns::child.id", "", nil, false},
	}
	for _, tt := range tests {
		root, path, ok := asExpr(t, varValue(t, tt.expr)).Ref()
		if root != tt.wantRoot || !cmp.Equal(path, tt.wantPath) || ok != tt.wantOK {
			t.Errorf("%s: Ref() got %q, %q, %v; want %q, %q, %v", tt.expr, root, path, ok, tt.wantRoot, tt.wantPath, tt.wantOK)
		}
	}
}

func TestExprTernary(t *testing.T) {
	cond, then, els, ok := asExpr(t, varValue(t, "isProd ? 'P1' : 'B1'")).Ternary()
	if diff := cmp.Diff([]Value{ex("identifier", "isProd"), String("P1"), String("B1")}, []Value{cond, then, els}, valueOpts); !ok || diff != "" {
		t.Errorf("Ternary() ok=%v (-want +got):\n%s", ok, diff)
	}
	if _, _, _, ok := asExpr(t, varValue(t, "a")).Ternary(); ok {
		t.Errorf("Ternary() on an identifier: got ok, want not")
	}
}

func TestOutputs(t *testing.T) {
	f := parseOK(t, "@description('the queue')\noutput queueId string = q.id\noutput names array = [for q in qs: q.name]\n")
	want := []*Output{
		{Name: "queueId", Type: "string", Value: ex("member_expression", "q.id"), Decorators: Decorators{{Name: "description", Args: []Value{String("the queue")}}}},
		{Name: "names", Type: "array", Value: ex("for_statement", "[for q in qs: q.name]")},
	}
	if diff := cmp.Diff(want, f.Outputs, valueOpts, cmpopts.IgnoreFields(Output{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if got, want := f.Outputs[1].Pos.String(), "main.bicep:3:1"; got != want {
		t.Errorf("second output at %s, want %s", got, want)
	}
}

func TestImportsTypesFuncs(t *testing.T) {
	f := parseOK(t, `targetScope = 'subscription'
import {naming, tags as t} from './shared.bicep'
import * as lib from './lib.bicep'
import 'az@1.0.0'
@export()
type queueSpec = { @description('queue name') name: string, maxDelivery?: int, *: string }
@export()
func queueName(env string, n int) string => '${env}-q${n}'
`)
	if f.TargetScope != "subscription" {
		t.Errorf("TargetScope: got %q, want subscription", f.TargetScope)
	}
	wantImports := []*Import{
		{Path: "./shared.bicep", Names: []string{"naming", "tags"}},
		{Path: "./lib.bicep", Names: []string{"*"}},
		{Path: "az@1.0.0"},
	}
	if diff := cmp.Diff(wantImports, f.Imports, cmpopts.IgnoreFields(Import{}, "Pos")); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	wantTypes := []*TypeDecl{{
		Name: "queueSpec", Text: "{ @description('queue name') name: string, maxDelivery?: int, *: string }",
		Decorators: Decorators{{Name: "export"}},
	}}
	if diff := cmp.Diff(wantTypes, f.Types, cmpopts.IgnoreFields(TypeDecl{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	fn := f.Funcs[0]
	if fn.Name != "queueName" || fn.Params != "(env string, n int)" || fn.Returns != "string" {
		t.Errorf("func: got %s%s %s, want queueName(env string, n int) string", fn.Name, fn.Params, fn.Returns)
	}
	if in, ok := fn.Body.(*Interp); !ok || in.Raw != "${env}-q${n}" {
		t.Errorf("func body: got %#v, want the interpolated string", fn.Body)
	}
}

// A type's object reads as an *Object too when it appears as a value; its
// optional and wildcard keys come out unadorned.
func TestTypeObjectKeys(t *testing.T) {
	v := varValue(t, "{ @description('x') name: string, opt?: int, *: bool }")
	if got, want := v.(*Object).Keys(), []string{"name", "opt", "*"}; !cmp.Equal(got, want) {
		t.Errorf("Keys(): got %q, want %q", got, want)
	}
}
