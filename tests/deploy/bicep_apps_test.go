package deploy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/tests/bicep"
)

// The four roles as container apps, by azd service name, with the identity
// each runs as and whether it has (external) ingress.
var wantApps = map[string]struct {
	identity string
	ingress  bool
}{
	"command-api": {"commandApi", true},
	"query-api":   {"queryApi", true},
	"worker":      {"worker", false},
	"projector":   {"projector", false},
}

// Each app runs one role as its own identity, signs in with nothing else,
// and has ingress only if it is one of the two APIs.
func TestBicepAppsRunTheirRoleAsTheirIdentity(t *testing.T) {
	ts := loadTemplates(t)
	res := ts.file(t, "resources.bicep")
	seen := map[string]bool{}
	for _, m := range ts.calls(t, "modules/app.bicep") {
		svc, _ := str(m.Param("serviceName"))
		want, known := wantApps[svc]
		if !known || seen[svc] {
			t.Errorf("%s: app for service %q: want each of command-api, query-api, worker, projector once", m.Pos, svc)
			continue
		}
		seen[svc] = true
		if args := literals(res.Resolve(m.Param("args"))); !slices.Equal(args, []string{svc}) {
			t.Errorf("%s: %s args = %v, want [%s]", m.Pos, svc, args, svc)
		}
		if role, what, _ := identityRef(m.Param("identityId")); role != want.identity || what != "Id" {
			t.Errorf("%s: %s runs as %v, want identities.outputs.%sId", m.Pos, svc, m.Param("identityId"), want.identity)
		}
		if got := m.Param("external"); got != bicep.Bool(want.ingress) {
			t.Errorf("%s: %s external = %v, want %v", m.Pos, svc, got, want.ingress)
		}
		env := envOf(t, svc, res.Resolve(m.Param("env")))
		if role, what, _ := identityRef(env["AZURE_CLIENT_ID"]); role != want.identity || what != "ClientId" {
			t.Errorf("%s: %s AZURE_CLIENT_ID = %v, want identities.outputs.%sClientId (Container Apps does not set it)",
				m.Pos, svc, env["AZURE_CLIENT_ID"], want.identity)
		}
		for name, value := range map[string]string{"DROPOFF_AZURE_AUTH": "managed-identity", "DROPOFF_ADDR": "0.0.0.0:8080"} {
			if got, _ := str(env[name]); got != value {
				t.Errorf("%s: %s %s = %v, want %s", m.Pos, svc, name, env[name], value)
			}
		}
	}
	if len(seen) != len(wantApps) {
		t.Errorf("apps %v, want %d", seen, len(wantApps))
	}
}

// The worker scales on the queue through KEDA, signed in as the scaler's
// identity; the projector runs exactly one replica.
func TestBicepScaling(t *testing.T) {
	ts := loadTemplates(t)
	res := ts.file(t, "resources.bicep")
	apps := map[string]*bicep.Module{}
	for _, m := range ts.calls(t, "modules/app.bicep") {
		svc, _ := str(m.Param("serviceName"))
		apps[svc] = m
	}
	w := apps["worker"]
	if role, what, _ := identityRef(w.Param("scalerIdentityId")); role != "scaler" || what != "Id" {
		t.Errorf("worker scalerIdentityId = %v, want identities.outputs.scalerId", w.Param("scalerIdentityId"))
	}
	rules, _ := res.Resolve(w.Param("scaleRules")).(*bicep.Array)
	if rules == nil || len(rules.Items) != 1 {
		t.Fatalf("worker scaleRules = %#v, want one rule", w.Param("scaleRules"))
	}
	rule := rules.Items[0]
	if typ, _ := str(get(rule, "custom.type")); typ != "azure-servicebus" {
		t.Errorf("worker scale rule type %q, want azure-servicebus", typ)
	}
	if role, what, _ := identityRef(get(rule, "custom.identity")); role != "scaler" || what != "Id" {
		t.Errorf("worker scale rule identity = %v, want identities.outputs.scalerId (no connection string)", get(rule, "custom.identity"))
	}
	if get(rule, "custom.auth") != nil {
		t.Error("worker scale rule has auth (a secret reference); the identity is enough")
	}
	meta, _ := get(rule, "custom.metadata").(*bicep.Object)
	if meta == nil {
		t.Fatal("worker scale rule has no metadata")
	}
	for _, k := range []string{"namespace", "queueName", "messageCount"} {
		if get(meta, k) == nil {
			t.Errorf("worker scale rule metadata lacks %s", k)
		}
	}
	for _, p := range meta.Properties {
		if _, isNumber := p.Value.(bicep.Number); isNumber {
			t.Errorf("worker scale rule metadata %s is a number; KEDA metadata values must be strings", p.Key)
		}
	}
	if min, max := apps["projector"].Param("minReplicas"), apps["projector"].Param("maxReplicas"); min != bicep.Number(1) || max != bicep.Number(1) {
		t.Errorf("projector replicas %v..%v, want exactly 1: one reader follows the feed from one checkpoint", min, max)
	}
	grace, _ := w.Param("terminationGracePeriodSeconds").(bicep.Number)
	shutdown, _ := str(envOf(t, "worker", res.Resolve(w.Param("env")))["DROPOFF_SHUTDOWN_TIMEOUT"])
	d, err := time.ParseDuration(shutdown)
	if err != nil || time.Duration(grace)*time.Second <= d {
		t.Errorf("worker grace period %ds, shutdown timeout %q: the grace period must outlast the shutdown", grace, shutdown)
	}
}

// The app module: the azd tag, the role's identity for pulling and signing
// in, probes that keep the dependencies out of liveness, ingress only when
// asked, and the deployed image kept across provisions.
func TestBicepAppModule(t *testing.T) {
	f := loadTemplates(t).file(t, "modules/app.bicep")
	app := only(t, f, "Microsoft.App/containerApps")
	if tags, _ := app.Get("tags"); !strings.Contains(exprText(tags), "'azd-service-name': serviceName") {
		t.Errorf("tags = %s, want union(tags, { 'azd-service-name': serviceName })", exprText(tags))
	}
	if reg := get(app.Body, "properties.configuration.registries.0.identity"); refRoot(reg) != "identityId" {
		t.Errorf("registry pulls as %v, want the role's identity (identityId)", reg)
	}
	ingress, _ := app.Get("properties.configuration.ingress")
	cond, then, els, ok := ingress.(*bicep.Expr).Ternary()
	if !ok || refRoot(cond) != "external" || els != (bicep.Null{}) || get(then, "targetPort") != bicep.Number(8080) ||
		get(then, "external") != bicep.Bool(true) {
		t.Errorf("ingress = %s, want external ? { external: true, targetPort: 8080, … } : null", exprText(ingress))
	}
	probes, _ := app.Get("properties.template.containers.0.probes")
	got := map[string]string{}
	for _, p := range probes.(*bicep.Array).Items {
		typ, _ := str(get(p, "type"))
		path, _ := str(get(p, "httpGet.path"))
		got[typ] = path
		if get(p, "httpGet.port") != bicep.Number(8080) {
			t.Errorf("%s probe on port %v, want 8080", typ, get(p, "httpGet.port"))
		}
	}
	if want := map[string]string{"Startup": "/healthz", "Liveness": "/healthz", "Readiness": "/readyz"}; !mapsEqual(got, want) {
		t.Errorf("probes %v, want %v: liveness must not depend on SQL or Service Bus", got, want)
	}
	if args := get(app.Body, "properties.template.containers.0.args"); refRoot(args) != "args" {
		t.Errorf("container args = %v, want the role (args)", args)
	}
	image := f.Var("image")
	if image == nil || !strings.Contains(exprText(image.Value), "current!.properties.template.containers[0].image") {
		t.Error("the image is not taken from the existing app when it exists: a provision would put the placeholder back")
	}
}

// The dbinit job runs `dropoff dbinit` as the SQL administrator's identity,
// and is told each role's identity to create its database user.
func TestBicepDBInitJob(t *testing.T) {
	ts := loadTemplates(t)
	job := only(t, ts.file(t, "modules/dbinit.bicep"), "Microsoft.App/jobs")
	if args := literals(get(job.Body, "properties.template.containers.0.args")); !slices.Equal(args, []string{"dbinit"}) {
		t.Errorf("dbinit job args = %v, want [dbinit]", args)
	}
	if !strings.Contains(exprText(get(job.Body, "tags")), "'azd-service-name': 'dbinit'") {
		t.Errorf("dbinit job tags = %s, want azd-service-name dbinit", exprText(get(job.Body, "tags")))
	}
	if trig, _ := str(get(job.Body, "properties.configuration.triggerType")); trig != "Manual" {
		t.Errorf("dbinit trigger %q, want Manual (the postdeploy hook starts it)", trig)
	}
	res := ts.file(t, "resources.bicep")
	m := ts.calls(t, "modules/dbinit.bicep")[0]
	if role, what, _ := identityRef(m.Param("identityId")); role != "dbinit" || what != "Id" {
		t.Errorf("dbinit job runs as %v, want identities.outputs.dbinitId", m.Param("identityId"))
	}
	env := envOf(t, "dbinit", res.Resolve(m.Param("env")))
	want := map[string][2]string{
		"AZURE_CLIENT_ID":                 {"dbinit", "ClientId"},
		"DROPOFF_WORKER_CLIENT_ID":        {"worker", "ClientId"},
		"DROPOFF_WORKER_IDENTITY_NAME":    {"worker", "Name"},
		"DROPOFF_PROJECTOR_CLIENT_ID":     {"projector", "ClientId"},
		"DROPOFF_PROJECTOR_IDENTITY_NAME": {"projector", "Name"},
		"DROPOFF_QUERY_CLIENT_ID":         {"queryApi", "ClientId"},
		"DROPOFF_QUERY_IDENTITY_NAME":     {"queryApi", "Name"},
		"DROPOFF_COMMAND_CLIENT_ID":       {"commandApi", "ClientId"},
	}
	for name, w := range want {
		if role, what, _ := identityRef(env[name]); role != w[0] || what != w[1] {
			t.Errorf("dbinit %s = %v, want identities.outputs.%s%s", name, env[name], w[0], w[1])
		}
	}
}

func exprText(v bicep.Value) string {
	switch v := v.(type) {
	case *bicep.Expr:
		return v.Text
	case nil:
		return "<none>"
	}
	return "<literal>"
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Every app is told where its traces go by one parameter, empty by default,
// and names its spans for its service. An empty endpoint sets no variable at
// all: an empty OTEL_EXPORTER_OTLP_ENDPOINT would hide the one the Container
// Apps managed OpenTelemetry agent injects (docs/observability.md).
func TestBicepAppsTracing(t *testing.T) {
	ts := loadTemplates(t)
	if p := ts.file(t, "main.bicep").Param("otlpEndpoint"); p == nil || p.Default != bicep.String("") {
		t.Errorf("main.bicep otlpEndpoint = %+v, want a parameter defaulting to '' (no export)", p)
	}
	for _, m := range ts.calls(t, "modules/app.bicep") {
		svc, _ := str(m.Param("serviceName"))
		if refRoot(m.Param("otlpEndpoint")) != "otlpEndpoint" {
			t.Errorf("%s: %s otlpEndpoint = %v, want the otlpEndpoint parameter", m.Pos, svc, m.Param("otlpEndpoint"))
		}
	}
	f := ts.file(t, "modules/app.bicep")
	app := only(t, f, "Microsoft.App/containerApps")
	if env := get(app.Body, "properties.template.containers.0.env"); exprText(env) != "concat(env, tracingEnv)" {
		t.Errorf("container env = %s, want concat(env, tracingEnv)", exprText(env))
	}
	name, _ := f.Var("serviceNameEnv").Value.(*bicep.Object)
	if n, _ := str(get(name, "name")); n != "OTEL_SERVICE_NAME" {
		t.Errorf("serviceNameEnv = %#v, want OTEL_SERVICE_NAME", name)
	}
	if v, ok := get(name, "value").(*bicep.Interp); !ok || v.Raw != "dropoff-${serviceName}" {
		t.Errorf("OTEL_SERVICE_NAME = %#v, want 'dropoff-${serviceName}', the default the binary uses too", get(name, "value"))
	}
	e, _ := f.Var("tracingEnv").Value.(*bicep.Expr)
	if e == nil {
		t.Fatal("app.bicep has no tracingEnv expression")
	}
	cond, without, with, ok := e.Ternary()
	if !ok || exprText(cond) != "empty(otlpEndpoint)" {
		t.Fatalf("tracingEnv = %s, want empty(otlpEndpoint) ? … : …", exprText(e))
	}
	if a, _ := without.(*bicep.Array); a == nil || len(a.Items) != 1 {
		t.Errorf("tracingEnv without an endpoint = %#v, want [serviceNameEnv] alone", without)
	}
	a, _ := with.(*bicep.Array)
	if a == nil || len(a.Items) != 2 {
		t.Fatalf("tracingEnv with an endpoint = %#v, want serviceNameEnv and the endpoint", with)
	}
	if n, _ := str(get(a.Items[1], "name")); n != "OTEL_EXPORTER_OTLP_ENDPOINT" || refRoot(get(a.Items[1], "value")) != "otlpEndpoint" {
		t.Errorf("tracingEnv's second entry = %#v, want OTEL_EXPORTER_OTLP_ENDPOINT = otlpEndpoint", a.Items[1])
	}
}
