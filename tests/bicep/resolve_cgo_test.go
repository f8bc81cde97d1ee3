//go:build cgo

package bicep

import "testing"

func TestResolveFollowsVarsConcatAndUnion(t *testing.T) {
	f, err := Parse("r.bicep", []byte(`
var common = [ { name: 'A', value: '1' } ]
var more = [ { name: 'B', value: x.outputs.b } ]
var tags = { env: 'e' }
var loop = loop
output env array = concat(common, more, [ { name: 'C', value: 'c' } ])
output tags object = union(tags, { 'azd-service-name': 'worker', env: 'f' })
output opaque array = concat(common, someParam)
output self array = loop
`))
	if err != nil {
		t.Fatal(err)
	}
	env, ok := f.Resolve(f.Output("env").Value).(*Array)
	if !ok || len(env.Items) != 3 {
		t.Fatalf("concat resolved to %#v, want 3 items", f.Resolve(f.Output("env").Value))
	}
	var names []string
	for _, it := range env.Items {
		n, _ := it.(*Object).Get("name")
		names = append(names, string(n.(String)))
	}
	if got := names[0] + names[1] + names[2]; got != "ABC" {
		t.Errorf("names = %v, want A B C", names)
	}
	if v, _ := env.Items[1].(*Object).Get("value"); v.(*Expr).Text != "x.outputs.b" {
		t.Errorf("an output reference resolved to %#v, want it kept", v)
	}
	tags := f.Resolve(f.Output("tags").Value).(*Object)
	if v, _ := tags.Get("env"); v != String("f") {
		t.Errorf("union: env = %#v, want the later object's f", v)
	}
	if v, _ := tags.Get("azd-service-name"); v != String("worker") {
		t.Errorf("union: azd-service-name = %#v, want worker", v)
	}
	if _, ok := f.Resolve(f.Output("opaque").Value).(*Expr); !ok {
		t.Errorf("concat with a parameter resolved to %#v, want it kept as an expression", f.Resolve(f.Output("opaque").Value))
	}
	if _, ok := f.Resolve(f.Output("self").Value).(*Expr); !ok {
		t.Error("a variable defined by itself did not stay an expression")
	}
}
