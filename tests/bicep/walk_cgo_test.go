//go:build cgo

package bicep

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCalls(t *testing.T) {
	f := parseOK(t, `var a = listKeys(stg.id, '2023-01-01').keys[0].value
var b = 'AccountKey=${stg.listKeys().keys[0].value}'
resource r 'T@1' = {
  name: 'r'
  properties: { secrets: [ { value: concat('x', listKeys(other.id, '2023').primary) } ] }
}
output c string = listConnectionStrings(db.id, '2021').connectionStrings[0].connectionString
`)
	tests := []struct {
		name     string
		wantPos  []string
		wantText []string
	}{
		{"listKeys", []string{"main.bicep:1:9", "main.bicep:2:23", "main.bicep:5:49"},
			[]string{"listKeys(stg.id, '2023-01-01')", "stg.listKeys()", "listKeys(other.id, '2023')"}},
		{"listConnectionStrings", []string{"main.bicep:7:19"}, []string{"listConnectionStrings(db.id, '2021')"}},
		{"concat", []string{"main.bicep:5:37"}, []string{"concat('x', listKeys(other.id, '2023').primary)"}},
		{"guid", nil, nil},
	}
	for _, tt := range tests {
		var pos, text []string
		for _, c := range f.Calls(tt.name) {
			pos, text = append(pos, c.Pos.String()), append(text, c.Text)
		}
		if !cmp.Equal(pos, tt.wantPos) || !cmp.Equal(text, tt.wantText) {
			t.Errorf("Calls(%q): got %q at %q, want %q at %q", tt.name, text, pos, tt.wantText, tt.wantPos)
		}
	}
}

func TestStrings(t *testing.T) {
	f := parseOK(t, `@description('sku')
param sku string = 'Basic'
var conn = 'Endpoint=sb://${ns}.servicebus.windows.net/;SharedAccessKey=${key}'
var tagged = { 'azd-service-name': '${concat('a', 'b')}' }
resource r 'T@1' = { name: '''raw''' }
`)
	want := []StringAt{
		{Pos: Pos{"main.bicep", 1, 14}, Text: "sku"},
		{Pos: Pos{"main.bicep", 2, 20}, Text: "Basic"},
		{Pos: Pos{"main.bicep", 3, 12}, Text: "Endpoint=sb://${ns}.servicebus.windows.net/;SharedAccessKey=${key}", Interpolated: true},
		{Pos: Pos{"main.bicep", 4, 16}, Text: "azd-service-name"},
		{Pos: Pos{"main.bicep", 4, 36}, Text: "${concat('a', 'b')}", Interpolated: true},
		{Pos: Pos{"main.bicep", 4, 46}, Text: "a"},
		{Pos: Pos{"main.bicep", 4, 51}, Text: "b"},
		{Pos: Pos{"main.bicep", 5, 12}, Text: "T@1"},
		{Pos: Pos{"main.bicep", 5, 28}, Text: "raw"},
	}
	// The primitive type string on line 2 is a keyword, not a literal, and
	// must not be listed.
	if diff := cmp.Diff(want, f.Strings()); diff != "" {
		t.Errorf("Strings() (-want +got):\n%s", diff)
	}
	// The assertion template tests make: no secret material in any literal.
	var leaks []string
	for _, s := range f.Strings() {
		if strings.Contains(s.Text, "SharedAccessKey=") {
			leaks = append(leaks, s.Pos.String())
		}
	}
	if want := []string{"main.bicep:3:12"}; !cmp.Equal(leaks, want) {
		t.Errorf("strings with SharedAccessKey=: got %q, want %q", leaks, want)
	}
}

func TestCommentsAreIgnored(t *testing.T) {
	f := parseOK(t, `// header
#disable-next-line no-unused-params
/* block
   comment */
@secure() // trailing
// between
param pw string // after
var o = {
  // inside
  a: 1 // after a
  /* before b */ b: [
    // in array
    2
  ]
}
`)
	if f.Param("pw") == nil || len(f.Param("pw").Decorators) != 1 {
		t.Fatalf("param pw: got %+v, want it with @secure()", f.Param("pw"))
	}
	want := &Object{Properties: []Property{{Key: "a", Value: Number(1)}, {Key: "b", Value: &Array{Items: []Value{Number(2)}}}}}
	if diff := cmp.Diff(want, f.Var("o").Value, valueOpts); diff != "" {
		t.Errorf("var o (-want +got):\n%s", diff)
	}
}

// TestSyntaxErrors pins what the grammar rejects, and where it says so. The
// valid Bicep it does not know (spread, extension, resourceInput<>, a
// resource type on a param or output) must come out as errors: that is what makes a parse
// test over the real templates mean something.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // ParseError.Error() of every error, in order
	}{
		{"unclosed parenthesis",
			"var a = 1\nvar b = (\nvar c = 2\n",
			[]string{`main.bicep:2:7: syntax error at "= ("`}},
		{"unclosed object",
			"param p string\nvar o = {\n  a: 'x'\n",
			[]string{`main.bicep:2:1: syntax error at "var o = {"`}},
		{"spread in an object",
			"var base = { a: 1 }\nvar o = {\n  ...base\n  b: 2\n}\n",
			[]string{`main.bicep:3:3: syntax error at "...base"`}},
		{"spread in an array",
			"var xs = [\n  ...ys\n  1\n]\n",
			[]string{`main.bicep:2:3: syntax error at "..."`}}, // ys is then read as an item
		{"extension",
			"extension microsoftGraphV1\nparam p string\n",
			[]string{`main.bicep:1:1: syntax error at "extension microsoftGraphV1"`}},
		{"resourceInput type",
			"param p resourceInput<'Microsoft.Storage/storageAccounts@2023-05-01'>.properties\n",
			[]string{"main.bicep:1:70: syntax error: missing identifier"}},
		{"resource-typed param",
			"param st resource 'Microsoft.Storage/storageAccounts@2023-05-01'\n",
			[]string{`main.bicep:1:10: syntax error at "resource"`}},
		{"resource-typed output",
			"output st resource 'Microsoft.Storage/storageAccounts@2023-05-01' = stg\n",
			[]string{`main.bicep:1:11: syntax error at "resource"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("main.bicep", []byte(tt.src))
			if f == nil {
				t.Fatalf("Parse: got no File, want one alongside the errors")
			}
			var got []string
			for _, e := range f.Errors() {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Errors() (-want +got):\n%s", diff)
			}
			var pe ParseError
			if !errors.As(err, &pe) || err.Error() != strings.Join(got, "\n") {
				t.Errorf("Parse error: got %v, want the joined ParseErrors", err)
			}
		})
	}
}

// Error recovery keeps going: declarations after a broken one are still read.
func TestRecoveryReadsPastAnError(t *testing.T) {
	f, err := Parse("main.bicep", []byte("var a = (\nparam p string\nresource r 'T@1' = { name: 'r' }\n"))
	if err == nil {
		t.Fatalf("Parse: got no error, want one")
	}
	if f.Resource("r") == nil {
		t.Errorf("resource after the error: got nil, want r")
	}
}

// Every prefix of a template is a broken template; reading one must report
// errors, never panic on a declaration that lost its children.
func TestTruncatedInputNeverPanics(t *testing.T) {
	src := `targetScope = 'subscription'
import {a} from './a.bicep'
@description('p')
param p string = 'x${y}z'
var o = { 'k-1': [ 1, true, null ], n: f(a.b, x ? '''m''' : -1) }
type t = { name?: string, *: int }
func fn(a string) string => a
resource r 'T@1' existing = { name: 'r', resource c 'c' = { name: 'c' } }
resource s 'T@1' = [for (x, i) in xs: if (i > 0) { name: x }]
module m './m.bicep' = if (p != '') { name: 'm', params: { a: p } }
output o string = r.id
`
	parseOK(t, src) // the whole is valid, so the prefixes test recovery, not typos
	for i := range len(src) {
		Parse("main.bicep", []byte(src[:i])) // errors expected; a panic fails the test
	}
}
