//go:build cgo

package bicep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// resourceView is what TestResources compares: a Resource with its
// expressions reduced to source text.
type resourceView struct {
	Symbol, Type, APIVersion string
	Existing                 bool
	Parent                   string
	Condition                string
	Loop                     *loopView
	Keys                     []string
	Decorators               []string
}

type loopView struct{ Item, Index, Range string }

func viewOf(r *Resource) resourceView {
	v := resourceView{Symbol: r.Symbol, Type: r.Type, APIVersion: r.APIVersion, Existing: r.Existing, Parent: r.Parent, Keys: r.Body.Keys()}
	if r.Condition != nil {
		v.Condition = r.Condition.Text
	}
	if r.Loop != nil {
		v.Loop = &loopView{Item: r.Loop.Item, Index: r.Loop.Index, Range: r.Loop.Range.(*Expr).Text}
	}
	for _, d := range r.Decorators {
		v.Decorators = append(v.Decorators, d.Name)
	}
	return v
}

func TestResources(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []resourceView
	}{
		{"type and version split at @",
			"resource q 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = { parent: ns, name: 'q', properties: { requiresSession: true } }",
			[]resourceView{{Symbol: "q", Type: "Microsoft.ServiceBus/namespaces/queues", APIVersion: "2024-01-01", Keys: []string{"parent", "name", "properties"}}}},
		{"preview version",
			"resource a 'Microsoft.App/containerApps@2024-10-02-preview' = { name: 'a' }",
			[]resourceView{{Symbol: "a", Type: "Microsoft.App/containerApps", APIVersion: "2024-10-02-preview", Keys: []string{"name"}}}},
		{"existing",
			"resource ns 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {\n  name: nsName\n}",
			[]resourceView{{Symbol: "ns", Type: "Microsoft.ServiceBus/namespaces", APIVersion: "2024-01-01", Existing: true, Keys: []string{"name"}}}},
		{"condition",
			"resource db 'Microsoft.Sql/servers/databases@2023-08-01' = if (env == 'prod' && !skip) {\n  name: 'db'\n}",
			[]resourceView{{Symbol: "db", Type: "Microsoft.Sql/servers/databases", APIVersion: "2023-08-01", Condition: "env == 'prod' && !skip", Keys: []string{"name"}}}},
		{"loop",
			"@batchSize(1)\nresource qs 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for name in queueNames: {\n  name: name\n}]",
			[]resourceView{{Symbol: "qs", Type: "Microsoft.ServiceBus/namespaces/queues", APIVersion: "2024-01-01",
				Loop: &loopView{Item: "name", Range: "queueNames"}, Keys: []string{"name"}, Decorators: []string{"batchSize"}}}},
		{"filtered loop with index",
			"resource qs 'T@1' = [for (q, i) in range(0, 3): if (i > 0) {\n  name: 'q${i}'\n}]",
			[]resourceView{{Symbol: "qs", Type: "T", APIVersion: "1", Condition: "i > 0", Loop: &loopView{Item: "q", Index: "i", Range: "range(0, 3)"}, Keys: []string{"name"}}}},
		{"nested resource",
			"resource ns 'Microsoft.ServiceBus/namespaces@2024-01-01' = {\n  name: 'ns'\n  @description('q')\n  resource q 'queues' = {\n    name: 'q'\n  }\n  location: loc\n}",
			[]resourceView{
				{Symbol: "ns", Type: "Microsoft.ServiceBus/namespaces", APIVersion: "2024-01-01", Keys: []string{"name", "location"}},
				{Symbol: "q", Type: "queues", Parent: "ns", Keys: []string{"name"}, Decorators: []string{"description"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parseOK(t, tt.src)
			var got []resourceView
			for _, r := range f.Resources {
				got = append(got, viewOf(r))
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResourceGet(t *testing.T) {
	f := parseOK(t, `resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'api'
  tags: { 'azd-service-name': 'api' }
  properties: {
    configuration: { ingress: { external: true, targetPort: 8080 } }
    template: {
      containers: [
        { name: 'api', env: [ { name: 'DROPOFF_ROLE', value: 'command-api' } ] }
      ]
    }
  }
}
`)
	r := f.Resource("app")
	tests := []struct {
		path   string
		want   Value
		wantOK bool
	}{
		{"name", String("api"), true},
		{"tags.azd-service-name", String("api"), true},
		{"properties.configuration.ingress.external", Bool(true), true},
		{"properties.configuration.ingress.targetPort", Number(8080), true},
		{"properties.template.containers.0.env.0.value", String("command-api"), true},
		{"properties.template.containers.1", nil, false},
		{"properties.missing", nil, false},
		{"name.deeper", nil, false},
	}
	for _, tt := range tests {
		got, ok := r.Get(tt.path)
		if ok != tt.wantOK || (tt.wantOK && got != tt.want) {
			t.Errorf("Get(%q): got %#v, %v; want %#v, %v", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
	if got := f.ResourcesOfType("microsoft.app/containerapps"); len(got) != 1 || got[0] != r {
		t.Errorf("ResourcesOfType (any case): got %d resources, want app", len(got))
	}
	if f.Resource("nope") != nil || f.Param("nope") != nil || f.Module("nope") != nil {
		t.Errorf("lookups of undeclared names: got non-nil, want nil")
	}
}

func TestModules(t *testing.T) {
	f := parseOK(t, `module app './app.bicep' = {
  name: 'app-${env}'
  params: {
    env: env
    sku: env == 'prod' ? 'P1' : 'B1'
    queue: q.name
    replicas: 2
    fallback: x.?a ?? 'z'
  }
}
module opt 'br/public:avm/res/storage:0.9.0' = if (withStorage) { name: 'st' }
module many './q.bicep' = [for q in queues: { name: q, params: { q: q } }]
`)
	app := f.Module("app")
	if app.Path != "./app.bicep" {
		t.Errorf("Path: got %q, want ./app.bicep", app.Path)
	}
	tests := []struct {
		param string
		want  Value
	}{
		{"env", ex("identifier", "env")},
		{"sku", ex("ternary_expression", "env == 'prod' ? 'P1' : 'B1'")},
		{"queue", ex("member_expression", "q.name")},
		{"replicas", Number(2)},
		{"fallback", ex("binary_expression", "x.?a ?? 'z'")},
		{"absent", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, app.Param(tt.param), valueOpts); diff != "" {
			t.Errorf("Param(%q) (-want +got):\n%s", tt.param, diff)
		}
	}
	if name, _ := app.Get("name"); name.(*Interp).Raw != "app-${env}" {
		t.Errorf("name: got %#v, want the interpolated app-${env}", name)
	}
	if opt := f.Module("opt"); opt.Condition == nil || opt.Condition.Text != "withStorage" || opt.Loop != nil {
		t.Errorf("opt: got condition %v, loop %v; want withStorage and no loop", opt.Condition, opt.Loop)
	}
	if many := f.Module("many"); many.Loop == nil || many.Loop.Item != "q" || many.Param("q") == nil {
		t.Errorf("many: got loop %+v, param q %v; want a loop over q with param q", many.Loop, many.Param("q"))
	}
}

// The example from the package's brief, end to end: every declaration kind
// lands in its slice.
func TestWholeFile(t *testing.T) {
	f := parseOK(t, `targetScope = 'subscription'
@minLength(1)
param env string
var x = { a: 'b', c: [ 1, 2 ] }
resource q 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = { parent: ns, name: 'q', properties: { requiresSession: true } }
module m './m.bicep' = { name: 'm', params: { a: x.?a ?? 'z' } }
output o string = q.id
`)
	got := []int{len(f.Params), len(f.Vars), len(f.Resources), len(f.Modules), len(f.Outputs)}
	if want := []int{1, 1, 1, 1, 1}; !cmp.Equal(got, want) {
		t.Errorf("params, vars, resources, modules, outputs: got %v, want %v", got, want)
	}
	if v, _ := f.Resource("q").Get("properties.requiresSession"); v != Bool(true) {
		t.Errorf("requiresSession: got %#v, want true", v)
	}
	if got, want := f.Resource("q").Pos.String(), "main.bicep:5:1"; got != want {
		t.Errorf("resource q at %s, want %s", got, want)
	}
}
